"""Code nodes reach HTTP(S) through kawa's egress proxy, under the SSRF policy; direct sockets stay refused.

Each test runs against a real sandbox with its own network namespace (the bridge to the proxy's unix socket) and
against one without namespaces (straight to the proxy's loopback port), with real loopback servers.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.connection_trap import connection_trap
from support.http_echo import echo_server

from kawa.net.egress_proxy import EgressProxy
from kawa.net.ssrf import TargetPolicy
from kawa.sandbox.confine import landlock_abi
from kawa.sandbox.egress import ProxyEndpoint
from kawa.sandbox.errors import CodeExecutionError
from kawa.sandbox.pool import CodeSandbox
from kawa.sandbox.settings import SandboxSettings

GET_WITH_REQUESTS = (
    "import requests\n"
    "def main(url):\n"
    "    response = requests.get(url, timeout=5)\n"
    "    return {'status': response.status_code, 'text': response.text}\n"
)


@pytest.fixture(scope="module")
def allowed_port() -> Iterator[int]:
    with echo_server() as port:
        yield port


@pytest.fixture(scope="module")
def tls_port() -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 (a self-signed test certificate kept in tests/sandbox/data)."""
    data = Path(__file__).with_name("data")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(data / "loopback-cert.pem", data / "loopback-key.pem")

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"tls {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def trap() -> Iterator[tuple[int, list[int]]]:
    """A loopback port that is not allow-listed and counts every connection it gets (there must be none)."""
    with connection_trap() as trap:
        yield trap


@pytest.fixture(scope="module", params=[True, False], ids=["namespaces", "no-namespaces"])
async def networked(request: pytest.FixtureRequest, allowed_port: int, tls_port: int) -> AsyncIterator[CodeSandbox]:
    config = SandboxSettings(python_workers=1, javascript_workers=0, timeout_s=8, memory_mb=256)
    config.namespaces = bool(request.param)
    async with EgressProxy(TargetPolicy([f"127.0.0.1:{allowed_port}", f"127.0.0.1:{tls_port}"])) as proxy:
        endpoint = ProxyEndpoint(proxy.unix_path, proxy.port)
        async with CodeSandbox(config, proxy=endpoint) as sandbox:
            await sandbox.wait_ready()
            yield sandbox


async def test_the_layers_name_the_proxy(networked: CodeSandbox) -> None:
    layers = networked.layers("python3")
    assert "egress-proxy" in layers and "seccomp" in layers and "audit-hook" in layers
    if "empty-root" in layers:
        assert "network-via-proxy" in layers and "no-network" not in layers


async def test_requests_reaches_an_allowed_loopback_server(networked: CodeSandbox, allowed_port: int) -> None:
    result = await networked.run("python3", GET_WITH_REQUESTS, {"url": f"http://127.0.0.1:{allowed_port}/hi?a=1"})
    assert result["status"] == 200
    assert '"path": "/hi"' in result["text"] and '"a": "1"' in result["text"]


async def test_a_requests_session_sends_request_after_request(networked: CodeSandbox, allowed_port: int) -> None:
    code = (
        "import requests\n"
        "def main(url):\n"
        "    with requests.Session() as session:\n"
        "        return {'paths': [session.get(f'{url}/{n}', timeout=5).json()['path'] for n in range(3)]}\n"
    )
    result = await networked.run("python3", code, {"url": f"http://127.0.0.1:{allowed_port}"})
    assert result == {"paths": ["/0", "/1", "/2"]}


async def test_httpx_and_urllib_reach_it_too(networked: CodeSandbox, allowed_port: int) -> None:
    code = (
        "import httpx, json, urllib.request\n"
        "def main(url):\n"
        "    with urllib.request.urlopen(url + '/urllib', timeout=5) as response:\n"
        "        via_urllib = json.loads(response.read())['path']\n"
        "    posted = httpx.post(url + '/httpx', json={'n': 1}, timeout=5).json()\n"
        "    return {'urllib': via_urllib, 'httpx': posted['path'], 'body': posted['body']}\n"
    )
    result = await networked.run("python3", code, {"url": f"http://127.0.0.1:{allowed_port}"})
    assert result == {"urllib": "/urllib", "httpx": "/httpx", "body": '{"n":1}'}


async def test_https_goes_through_a_connect_tunnel_end_to_end(networked: CodeSandbox, tls_port: int) -> None:
    code = (
        "import requests, httpx\n"
        "def main(url):\n"
        "    via_requests = requests.get(url + '/r', timeout=5, verify=False).text\n"
        "    via_httpx = httpx.get(url + '/x', timeout=5, verify=False).text\n"
        "    return {'requests': via_requests, 'httpx': via_httpx}\n"
    )
    result = await networked.run("python3", code, {"url": f"https://127.0.0.1:{tls_port}"})
    assert result == {"requests": "tls /r", "httpx": "tls /x"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://localhost:{trap}/", "loopback"),
    ],
)
async def test_internal_http_destinations_get_a_403_that_says_why(
    networked: CodeSandbox, trap: tuple[int, list[int]], url: str, reason: str
) -> None:
    started = time.monotonic()
    result = await networked.run("python3", GET_WITH_REQUESTS, {"url": url.format(trap=trap[0])})
    assert result["status"] == 403
    assert f"{reason} addresses are blocked to prevent SSRF" in result["text"]
    assert time.monotonic() - started < 3  # refused before connecting, not after a connect timeout
    assert trap[1] == []


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://10.0.0.1/", "https://127.0.0.1:{trap}/"])
async def test_internal_https_destinations_fail_with_a_clear_error(
    networked: CodeSandbox, trap: tuple[int, list[int]], url: str
) -> None:
    with pytest.raises(CodeExecutionError, match=r"ProxyError.*403 Destination refused by kawa's SSRF policy"):
        await networked.run("python3", GET_WITH_REQUESTS, {"url": url.format(trap=trap[0])})
    assert trap[1] == []


@pytest.mark.parametrize(
    "code",
    [
        "import socket\ndef main(port):\n    socket.create_connection(('127.0.0.1', port), timeout=1)\n",
        "import socket\ndef main(port):\n    s = socket.socket()\n    s.connect(('127.0.0.1', port))\n",
        "import socket\ndef main(port):\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n",
        "import socket\ndef main(port):\n    socket.socket(socket.AF_INET6)\n",
        "import socket\ndef main(port):\n    socket.socket(socket.AF_UNIX)\n",
        "import socket\ndef main(port):\n    socket.getaddrinfo('example.com', 80)\n",
        "import socket\ndef main(port):\n    socket.socket().bind(('127.0.0.1', 0))\n",
    ],
)
async def test_direct_sockets_are_still_refused(networked: CodeSandbox, trap: tuple[int, list[int]], code: str) -> None:
    with pytest.raises(CodeExecutionError, match="PermissionError"):
        await networked.run("python3", code, {"port": trap[0]})
    assert trap[1] == []


async def test_without_a_proxy_http_libraries_have_no_network(allowed_port: int) -> None:
    config = SandboxSettings(python_workers=1, javascript_workers=0, timeout_s=5, memory_mb=256)
    async with CodeSandbox(config) as sandbox:
        with pytest.raises(CodeExecutionError, match=r"ConnectionError.*socket\.getaddrinfo is not allowed"):
            await sandbox.run("python3", GET_WITH_REQUESTS, {"url": f"http://127.0.0.1:{allowed_port}/"})
        assert "egress-proxy" not in sandbox.layers("python3")


async def test_network_off_in_the_settings_ignores_the_proxy(allowed_port: int) -> None:
    config = SandboxSettings(python_workers=1, javascript_workers=0, timeout_s=5, memory_mb=256, network=False)
    async with EgressProxy(TargetPolicy([f"127.0.0.1:{allowed_port}"])) as proxy:
        sandbox = CodeSandbox(config, proxy=ProxyEndpoint(proxy.unix_path, proxy.port))
        try:
            with pytest.raises(CodeExecutionError, match=r"ConnectionError.*socket\.getaddrinfo is not allowed"):
                await sandbox.run("python3", GET_WITH_REQUESTS, {"url": f"http://127.0.0.1:{allowed_port}/"})
        finally:
            await sandbox.close()


SANDBOX_MODULES = str(Path(__file__).resolve().parents[2] / "kawa" / "sandbox")


def run_isolated(script: str, *args: str) -> str:
    """Run `script` in a throwaway interpreter that can import the sandbox's stdlib-only modules."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, SANDBOX_MODULES, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_seccomp_with_tcp_allows_ipv4_tcp_sockets_only() -> None:
    script = (
        "import os, socket, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import seccomp\n"
        "seccomp.install(os.getpid(), allow_exec=False, allow_tcp=True)\n"
        "outcomes = []\n"
        "for family, kind, proto in [(socket.AF_INET, socket.SOCK_STREAM, 0), (socket.AF_INET, socket.SOCK_DGRAM, 0),\n"
        "                     (socket.AF_INET6, socket.SOCK_STREAM, 0), (socket.AF_UNIX, socket.SOCK_STREAM, 0),\n"
        "                     (socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK, 6),\n"
        "                     (socket.AF_INET, socket.SOCK_STREAM, 132), (socket.AF_INET, socket.SOCK_RAW, 6)]:\n"
        "    try:\n"
        "        socket.socket(family, kind, proto).close()\n"
        "        outcomes.append('ok')\n"
        "    except PermissionError:\n"
        "        outcomes.append('refused')\n"
        "print(','.join(outcomes))\n"
    )
    assert run_isolated(script) == "ok,refused,refused,refused,ok,refused,refused"


def test_landlock_lets_tcp_connect_to_the_proxy_port_only(allowed_port: int, trap: tuple[int, list[int]]) -> None:
    if landlock_abi() < 4:
        pytest.skip("this kernel's Landlock has no network rules (ABI < 4)")
    script = (
        "import socket, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import confine\n"
        "confine.landlock([], [int(sys.argv[2])])  # no file readable: nothing below may import\n"
        "outcomes = []\n"
        "for port in sys.argv[2:]:\n"
        "    try:\n"
        "        socket.socket().connect(('127.0.0.1', int(port)))\n"
        "        outcomes.append('connected')\n"
        "    except PermissionError:\n"
        "        outcomes.append('refused')\n"
        "print(','.join(outcomes))\n"
    )
    assert run_isolated(script, str(allowed_port), str(trap[0])) == "connected,refused"
    assert trap[1] == []
