"""`ProxyEndpoint`: where python3 code nodes reach kawa's egress proxy (`kawa.net.egress_proxy`), which applies the
http-request node's SSRF policy. The server composes the two; the sandbox only needs the addresses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProxyEndpoint:
    """The proxy's unix socket (bind-mounted into a worker's empty root and bridged to loopback TCP inside its
    network namespace) and its loopback TCP port (which code sees as `HTTP(S)_PROXY=http://127.0.0.1:<port>`)."""

    unix_path: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
