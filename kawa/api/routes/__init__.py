"""Service API routers, one module per spec page."""
