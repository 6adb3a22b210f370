"""HTTP transport: the ASGI app, auth, error mapping, SSE and the Service API routes. It translates, never decides."""
