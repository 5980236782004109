"""Helpers of the semver gate: versions read from files, API changes and their levels.

``kinds`` is import-light (config validation uses it); ``api`` imports griffe
lazily, only when a Python API source changed.
"""
