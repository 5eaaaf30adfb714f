"""Helpers that start the service and its store for tests and benchmarks.

Neither `tests/` nor `bench/` imports the other; what both need lives here. Not
part of the service (not installed, nothing in the service imports it).
"""
