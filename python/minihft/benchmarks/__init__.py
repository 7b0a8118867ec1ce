"""Benchmarks behind `minihft bench`; each module registers one subcommand."""
