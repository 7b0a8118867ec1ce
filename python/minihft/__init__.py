"""minihft: a private high-frequency trading stack."""

__version__ = "0.1.0"
