"""Reports: self-contained HTML pages rendered from stored results."""
