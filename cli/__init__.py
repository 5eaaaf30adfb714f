"""The tags-admin command line."""
