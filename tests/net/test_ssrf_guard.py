"""The SSRF guard refuses internal destinations however they are spelled, unless allow-listed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import httpx
import pytest

from kawa.net.ssrf import DestinationRefused, GuardedClientFactory, guarded_client, refusal_reason


async def fetch(url: str, allowed: list[str] | None = None) -> httpx.Response:
    async with guarded_client(allowed or []) as client:
        return await client.get(url)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f.1",
        "0x7f000001",
        "localhost",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
    ],
)
async def test_loopback_is_refused_however_it_is_spelled(host: str, loopback_port: int) -> None:
    with pytest.raises(DestinationRefused, match="loopback addresses are blocked"):
        await fetch(f"http://{host}:{loopback_port}/")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://[2002:7f00:1::1]/",
    ],
)
async def test_internal_addresses_are_refused_before_connecting(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await asyncio.wait_for(fetch(url), 2)


def test_public_addresses_have_no_refusal_reason() -> None:
    assert refusal_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal_reason(ipaddress.ip_address("2606:4700:4700::1111")) is None
    assert refusal_reason(ipaddress.ip_address("::ffff:8.8.8.8")) is None
    assert refusal_reason(ipaddress.ip_address("::ffff:10.0.0.1")) == "private"


async def test_cidr_allow_list_reaches_the_loopback_server(loopback_port: int) -> None:
    response = await fetch(f"http://127.0.0.1:{loopback_port}/hello", ["127.0.0.0/8"])
    assert response.status_code == 200
    assert response.json()["path"] == "/hello"


async def test_host_port_allow_list_is_limited_to_that_port(loopback_port: int, other_loopback_port: int) -> None:
    allowed = [f"127.0.0.1:{loopback_port}"]
    assert (await fetch(f"http://127.0.0.1:{loopback_port}/", allowed)).status_code == 200
    with pytest.raises(DestinationRefused):
        await fetch(f"http://127.0.0.1:{other_loopback_port}/", allowed)


async def test_allow_listed_name_matches_the_name_in_the_url(loopback_port: int) -> None:
    assert (await fetch(f"http://localhost:{loopback_port}/", [f"localhost:{loopback_port}"])).status_code == 200
    with pytest.raises(DestinationRefused):
        await fetch(f"http://2130706433:{loopback_port}/", [f"localhost:{loopback_port}"])


async def test_redirect_to_a_refused_destination_is_refused(loopback_port: int, other_loopback_port: int) -> None:
    allowed = [f"127.0.0.1:{loopback_port}"]
    target = f"http://127.0.0.1:{other_loopback_port}/secret"
    with pytest.raises(DestinationRefused):
        await fetch(f"http://127.0.0.1:{loopback_port}/redirect?to={target}", allowed)
    ok = await fetch(f"http://127.0.0.1:{loopback_port}/redirect?to=/landed", allowed)
    assert ok.json()["path"] == "/landed"


async def test_connects_to_the_address_it_checked(loopback_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebinding resolver would answer differently the second time; the guard never asks twice."""
    calls: list[str] = []
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo

    async def rebinding_getaddrinfo(host: str, port: Any, **kwargs: Any) -> Any:
        calls.append(host)
        if host == "service.test":
            answer = "127.0.0.1" if len(calls) == 1 else "10.9.9.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]
        return await real_getaddrinfo(host, port, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", rebinding_getaddrinfo)
    response = await fetch(f"http://service.test:{loopback_port}/pinned", ["service.test"])
    assert response.json()["headers"]["host"] == f"service.test:{loopback_port}"
    assert response.json()["path"] == "/pinned"
    assert calls == ["service.test"]


async def test_factory_options_reach_the_client(loopback_port: int) -> None:
    factory = GuardedClientFactory([f"127.0.0.1:{loopback_port}"])
    async with factory(timeout=httpx.Timeout(3.0), follow_redirects=False) as client:
        response = await client.get(f"http://127.0.0.1:{loopback_port}/redirect?to=/x")
    assert response.status_code == 302
