"""Tag fields, queries and mutations."""
