"""Venue market-data readers: each turns a file into MD_EVENT batches (numpy), no per-row loop."""
