"""Shared pytest configuration for tests/ (kept minimal)."""

pytest_plugins = ["pytester"]
