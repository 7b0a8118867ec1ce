"""ml_scorer service."""
