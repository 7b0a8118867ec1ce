"""feed_handler service."""
