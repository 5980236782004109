"""mergegate: a before-merge CI gate runner."""

__version__ = "0.2.1"
