"""The services, one subpackage each.

A service imports minihft's shared code, never another service.
"""
