"""Real HTTP servers on 127.0.0.1 for the SSRF guard's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.http_echo import echo_server


@pytest.fixture(scope="session")
def loopback_port() -> Iterator[int]:
    with echo_server() as port:
        yield port


@pytest.fixture(scope="session")
def other_loopback_port() -> Iterator[int]:
    with echo_server() as port:
        yield port
