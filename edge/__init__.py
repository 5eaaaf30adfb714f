"""The HTTP, WebSocket and SSE edge: protocol code beside the Starlette glue that speaks it."""
