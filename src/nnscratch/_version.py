"""The package version, in one place (the package, model files and pyproject read it)."""

__version__ = "0.1.0"
