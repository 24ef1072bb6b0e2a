"""loclab: experiments and reports for localization ML.

Importing ``loclab`` is cheap on purpose: heavy libraries (torch, lightning, mlflow, sagemaker)
are imported inside the functions that need them, so the CLI answers ``--help`` instantly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
