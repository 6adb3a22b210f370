"""The SSRF guard: an httpx client whose transport only connects to public addresses, unless allow-listed.

`GuardedTransport` resolves each request's host itself (IP literals in any spelling the resolver accepts, such as
`2130706433` or `0x7f.1`, included), refuses the request if any resolved address is loopback, private, link-local,
shared, multicast, reserved or unspecified (IPv4-mapped, 6to4 and Teredo IPv6 addresses are judged by the IPv4
address they carry), and then connects to the very address it checked: the inner request targets the IP, while
the Host header and TLS SNI/certificate checks keep the original name. So a DNS answer that changes between the
check and the connect (rebinding) cannot redirect it. Redirects are followed by the client and every hop goes
through the same check. Environment proxies are ignored (`trust_env=False`): a proxy would connect elsewhere.

The allow-list (`KAWA_HTTP_REQUEST__ALLOWED_TARGETS`) takes CIDRs or IPs (`10.0.0.0/8`, `127.0.0.1`), and
`host[:port]` entries (`127.0.0.1:8080`, `[::1]:8080`, `intranet.example`, `intranet.example:443`); a host name
entry matches the name as written in the URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from kawa.errors import KawaError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_PORTS = {"http": 80, "https": 443}
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class DestinationRefused(KawaError):
    """An outbound request to an address the SSRF guard does not allow."""

    code = "destination_refused"
    status = 400
    default_message = "The request's destination is not allowed."


@dataclass(frozen=True, slots=True)
class _HostEntry:
    host: str  # lower-case name, or an IP address in canonical text form
    port: int | None


def _parse_host_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [v6]:port or [v6]
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port else None
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return entry, None


def _canonical_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped, 6to4 or Teredo IPv6 address carries, else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return ip


def refusal_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address (None when it is one)."""
    ip = embedded_ipv4(ip)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "shared (CGNAT)"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (not ip.is_global, "non-global"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


class TargetPolicy:
    """Which destinations may be reached: public addresses always, others only when allow-listed."""

    def __init__(self, allowed_targets: Iterable[str] = ()) -> None:
        self.networks: list[IPNetwork] = []
        self.hosts: list[_HostEntry] = []
        for raw in allowed_targets:
            entry = raw.strip()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            host, port = _parse_host_port(entry)
            ip = _canonical_ip(host)
            self.hosts.append(_HostEntry(str(ip) if ip else host.lower().rstrip("."), port))

    def allows(self, hostname: str, port: int, ip: IPAddress) -> bool:
        """Whether connecting to `ip:port`, reached through `hostname`, is allowed."""
        if refusal_reason(ip) is None:
            return True
        return self.allow_listed(hostname, port, ip)

    def allow_listed(self, hostname: str, port: int, ip: IPAddress) -> bool:
        candidates = {ip, embedded_ipv4(ip)}
        if any(
            address in network
            for address in candidates
            for network in self.networks
            if address.version == network.version
        ):
            return True
        names = {hostname.lower().rstrip("."), *(str(address) for address in candidates)}
        return any(entry.host in names and entry.port in (None, port) for entry in self.hosts)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` stands for: an IP literal in any spelling the system resolver accepts, or DNS."""
    literal = _canonical_ip(host.strip("[]"))
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"Could not resolve host {host!r}: {exc.strerror}") from exc
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def checked_address(policy: TargetPolicy, host: str, port: int) -> IPAddress:
    """Resolve `host` once and return the address to connect to, or raise `DestinationRefused` when any address
    it stands for is not allowed (`httpx.ConnectError` when it stands for none). Callers connect to exactly this
    address, so a later DNS answer cannot redirect them."""
    addresses = await resolve(host, port)
    if not addresses:
        raise httpx.ConnectError(f"Host {host!r} has no address")
    for address in addresses:
        if not policy.allows(host, port, address):
            reason = refusal_reason(address)
            shown = host if str(address) == host else f"{host} ({address})"
            raise DestinationRefused(
                f"Refused to connect to {shown}: {reason} addresses are blocked to prevent SSRF. "
                "Add the target to KAWA_HTTP_REQUEST__ALLOWED_TARGETS to allow it."
            )
    return addresses[0]


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks and pins the destination of every request, then hands it to an ordinary httpx transport."""

    def __init__(self, policy: TargetPolicy, *, verify: bool = True, retries: int = 0) -> None:
        self.policy = policy
        self.inner = httpx.AsyncHTTPTransport(verify=verify, trust_env=False, retries=retries)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        port = url.port or DEFAULT_PORTS.get(url.scheme, 80)
        timeout = (request.extensions.get("timeout") or {}).get("connect")
        try:
            pinned = await asyncio.wait_for(checked_address(self.policy, host, port), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"Resolving {host!r} timed out", request=request) from None
        extensions: dict[str, Any] = dict(request.extensions)
        if url.scheme == "https" and _canonical_ip(host.strip("[]")) is None:
            extensions["sni_hostname"] = host
        inner_request = httpx.Request(
            request.method,
            url.copy_with(host=str(pinned)),
            headers=request.headers,
            stream=request.stream,
            extensions=extensions,
        )
        return await self.inner.handle_async_request(inner_request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class GuardedClientFactory:
    """Builds SSRF-guarded `httpx.AsyncClient`s; `NodeServices.http_client_factory` for http-request nodes."""

    def __init__(self, allowed_targets: Iterable[str] = ()) -> None:
        self.policy = TargetPolicy(allowed_targets)

    def __call__(
        self,
        *,
        verify: bool = True,
        timeout: httpx.Timeout | float | None = 10.0,
        follow_redirects: bool = True,
        max_redirects: int = 5,
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=GuardedTransport(self.policy, verify=verify),
            timeout=timeout,
            trust_env=False,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
        )


def guarded_client(
    allowed_targets: Iterable[str] = (),
    *,
    verify: bool = True,
    timeout: httpx.Timeout | float | None = 10.0,
    follow_redirects: bool = True,
    max_redirects: int = 5,
) -> httpx.AsyncClient:
    """One guarded client, built as `GuardedClientFactory(allowed_targets)(...)` builds it."""
    return GuardedClientFactory(allowed_targets)(
        verify=verify, timeout=timeout, follow_redirects=follow_redirects, max_redirects=max_redirects
    )
