"""Jobs: the SageMaker-shaped contract, the entry point, and the backends that launch it."""
