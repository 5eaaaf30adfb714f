"""Tag events: the buses that carry them and the tagEvents subscription."""
