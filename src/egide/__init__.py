"""Égide: cyber insurance for French healthcare establishments."""

__version__ = "0.1.0"
