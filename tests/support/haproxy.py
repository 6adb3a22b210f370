"""A real HAProxy (Debian's `haproxy`) on a free loopback port in front of kawa backends, for the multi-host
layout: HTTP mode, round robin per request, health checks on /readyz, and an `X-Kawa-Backend` response header
naming the backend that answered (so tests see where each request went)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx

from support.server import free_port

HAPROXY = shutil.which("haproxy")

_CONFIG = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 5s
    option http-keep-alive
    retries 3
frontend kawa
    bind 127.0.0.1:{port}
    default_backend kawas
backend kawas
    balance roundrobin
    option httpchk GET /readyz
    http-response set-header X-Kawa-Backend %s
{servers}
"""


class HaProxy:
    """`haproxy -db` with a generated configuration; `url` is its frontend."""

    def __init__(self, workdir: Path, backends: list[int]) -> None:
        self.port = free_port()
        self.config = workdir / "haproxy.cfg"
        servers = "\n".join(
            f"    server k{i + 1} 127.0.0.1:{p} check inter 1s fall 5 rise 1" for i, p in enumerate(backends)
        )
        self.config.write_text(_CONFIG.format(port=self.port, servers=servers))
        self.log = workdir / "haproxy.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, backends_up: int) -> None:
        assert HAPROXY is not None, "haproxy is not installed (apt-get install haproxy)"
        with self.log.open("ab") as out:
            self._process = subprocess.Popen([HAPROXY, "-db", "-f", str(self.config)], stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        seen: set[str] = set()
        while len(seen) < backends_up:  # every backend has passed its health check and answers through the proxy
            assert self._process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, f"backends answering through haproxy: {seen}"
            try:
                response = httpx.get(self.url + "/healthz", timeout=5)
                if response.status_code == 200:
                    seen.add(response.headers["x-kawa-backend"])
            except httpx.TransportError:
                pass
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
