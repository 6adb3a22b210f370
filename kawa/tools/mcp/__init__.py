"""MCP, the client side: tools of configured MCP servers (`McpSettings`), listed and called with the official SDK."""
