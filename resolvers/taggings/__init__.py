"""Taggings: which tags a resource carries, read and written."""
