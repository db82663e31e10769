"""The package version, in one place: the package face re-exports it and run directories record
it (so that training never imports the package face)."""

__version__ = "0.1.0"
