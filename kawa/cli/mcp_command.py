"""`kawa app mcp APP`: publish an app as an MCP server (Dify's "MCP server" switch) and print its endpoint URL, or
turn it off again. The URL's server code is its only secret: `--new-code` replaces it, and the old URL stops working."""

from __future__ import annotations

from typing import Annotated

import typer

from kawa.cli.invocation import Stores, emit, with_stores
from kawa.errors import KawaError


def app_mcp(
    app_id: str,
    disable: Annotated[bool, typer.Option("--disable", help="Stop serving the app over MCP.")] = False,
    new_code: Annotated[bool, typer.Option("--new-code", help="Replace the server code (and so the URL).")] = False,
    description: Annotated[
        str | None, typer.Option(help="The tool description MCP clients see (default: the app's description).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {app_id, server_code, status, url} as JSON.")] = False,
) -> None:
    """Publish an app as an MCP server at /mcp/server/CODE/mcp (or --disable it)."""
    from kawa.settings import Settings
    from kawa.store.mcp_servers import McpServerStore

    async def work(stores: Stores) -> None:
        if await stores.apps.get(app_id) is None:
            raise KawaError(f"no app {app_id}")
        servers = McpServerStore(stores.db)
        if disable:
            server = await servers.disable(app_id)
        else:
            server = await servers.enable(app_id, description=description, new_code=new_code)
        if server is None:
            emit({"app_id": app_id, "status": "inactive"}, as_json, f"app {app_id} is not published over MCP")
            return
        url = f"{Settings().base_url.rstrip('/')}/mcp/server/{server.server_code}/mcp"
        emit(
            {"app_id": app_id, "server_code": server.server_code, "status": server.status, "url": url},
            as_json,
            f"status: {server.status}\nurl:    {url}",
        )

    with_stores(work)
