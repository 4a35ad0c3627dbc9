"""Helpers shared by the test layers (services started by the tests themselves)."""
