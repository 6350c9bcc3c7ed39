"""fieldmill: documents in, typed and validated records out."""

__version__ = "0.1.0"
