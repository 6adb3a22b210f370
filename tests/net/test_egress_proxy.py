"""The egress proxy code nodes use: CONNECT tunnels and forwarded http, each destination checked before connecting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from support.connection_trap import connection_trap

from kawa.net.egress_proxy import EgressProxy
from kawa.net.ssrf import TargetPolicy


@pytest.fixture
def trap_port() -> Iterator[tuple[int, list[int]]]:
    """A loopback listener that only counts connections: refused destinations must never reach it."""
    with connection_trap() as trap:
        yield trap


@pytest.fixture
async def proxy(loopback_port: int) -> AsyncIterator[EgressProxy]:
    async with EgressProxy(TargetPolicy([f"127.0.0.1:{loopback_port}"])) as running:
        yield running


async def raw_request(proxy: EgressProxy, head: str, *, unix: bool = False) -> bytes:
    if unix:
        reader, writer = await asyncio.open_unix_connection(proxy.unix_path)
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(head.encode())
    data = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    return data


async def test_forwards_plain_http_to_an_allowed_destination(proxy: EgressProxy, loopback_port: int) -> None:
    async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{proxy.port}", trust_env=False) as client:
        response = await client.get(f"http://127.0.0.1:{loopback_port}/hello?x=1")
    assert response.status_code == 200
    described = response.json()
    assert (described["path"], described["query"]) == ("/hello", {"x": "1"})
    assert described["headers"]["host"] == f"127.0.0.1:{loopback_port}"
    assert described["headers"]["connection"] == "close"
    assert "proxy-connection" not in described["headers"]


async def test_forwarded_responses_say_the_connection_closes(proxy: EgressProxy, loopback_port: int) -> None:
    """The echo server keeps connections alive; the proxy does not, so its answer must say so."""
    response = await raw_request(proxy, f"GET http://127.0.0.1:{loopback_port}/ HTTP/1.1\r\nHost: x\r\n\r\n")
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200 ")
    assert head.count(b"\r\nconnection:") == 1 and b"\r\nconnection: close" in head


async def test_a_keep_alive_client_sends_request_after_request(proxy: EgressProxy, loopback_port: int) -> None:
    async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{proxy.port}", trust_env=False) as client:
        paths = [(await client.get(f"http://127.0.0.1:{loopback_port}/{n}")).json()["path"] for n in range(3)]
    assert paths == ["/0", "/1", "/2"]


async def test_forwards_request_bodies(proxy: EgressProxy, loopback_port: int) -> None:
    async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{proxy.port}", trust_env=False) as client:
        response = await client.post(f"http://127.0.0.1:{loopback_port}/in", content=b"x" * 200_000)
    assert response.json()["body"] == "x" * 200_000


async def test_connect_tunnels_to_an_allowed_destination_over_the_unix_socket(
    proxy: EgressProxy, loopback_port: int
) -> None:
    reader, writer = await asyncio.open_unix_connection(proxy.unix_path)
    writer.write(f"CONNECT 127.0.0.1:{loopback_port} HTTP/1.1\r\nHost: 127.0.0.1:{loopback_port}\r\n\r\n".encode())
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
    writer.write(b"GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    response = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert response.startswith(b"HTTP/1.1 200")
    assert b'"path": "/tunnelled"' in response


@pytest.mark.parametrize("destination", ["10.0.0.1:80", "169.254.169.254:80", "192.168.0.1:443", "[::1]:80"])
async def test_internal_destinations_are_refused_at_once(proxy: EgressProxy, destination: str) -> None:
    started = time.monotonic()
    response = await raw_request(proxy, f"CONNECT {destination} HTTP/1.1\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 403 Destination refused by kawa's SSRF policy: Refused to connect")
    assert b"addresses are blocked to prevent SSRF" in response
    assert time.monotonic() - started < 2  # refused before any connection attempt, not after a timeout


async def test_metadata_address_is_refused_for_plain_http(proxy: EgressProxy) -> None:
    async with httpx.AsyncClient(proxy=f"http://127.0.0.1:{proxy.port}", trust_env=False) as client:
        response = await client.get("http://169.254.169.254/latest/meta-data/")
    assert response.status_code == 403
    assert "link-local addresses are blocked" in response.text


async def test_a_refused_loopback_destination_is_never_connected_to(
    proxy: EgressProxy, trap_port: tuple[int, list[int]]
) -> None:
    port, accepted = trap_port
    for head in (
        f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n",
        f"CONNECT localhost:{port} HTTP/1.1\r\n\r\n",
        f"GET http://2130706433:{port}/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        assert (await raw_request(proxy, head)).startswith(b"HTTP/1.1 403 ")
    await asyncio.sleep(0.2)
    assert accepted == []


async def test_the_allow_list_is_per_port(proxy: EgressProxy, loopback_port: int, other_loopback_port: int) -> None:
    allowed = await raw_request(proxy, f"CONNECT 127.0.0.1:{loopback_port} HTTP/1.1\r\n\r\n")
    assert allowed.startswith(b"HTTP/1.1 200 ")
    other = await raw_request(proxy, f"CONNECT 127.0.0.1:{other_loopback_port} HTTP/1.1\r\n\r\n")
    assert other.startswith(b"HTTP/1.1 403 ")


@pytest.mark.parametrize(
    ("head", "status"),
    [
        ("hello\r\n\r\n", b"400"),
        ("GET /relative HTTP/1.1\r\n\r\n", b"400"),
        ("GET https://example.com/ HTTP/1.1\r\n\r\n", b"400"),
        ("CONNECT example.com HTTP/1.1\r\n\r\n", b"400"),
        ("CONNECT no-such-host.invalid:443 HTTP/1.1\r\n\r\n", b"502"),
    ],
)
async def test_bad_requests_get_a_clear_status(proxy: EgressProxy, head: str, status: bytes) -> None:
    response = await raw_request(proxy, head, unix=True)
    assert response.startswith(b"HTTP/1.1 " + status + b" ")


async def test_oversized_request_heads_are_refused(proxy: EgressProxy) -> None:
    response = await raw_request(proxy, "GET http://127.0.0.1/ HTTP/1.1\r\nX: " + "a" * 70_000 + "\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 431 ")
