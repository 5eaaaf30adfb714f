"""Schema extensions: response cost, error codes and query limits."""
