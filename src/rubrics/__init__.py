"""rubrics: structured interview loops from engineering progression frameworks."""

__version__ = "0.1.0"
