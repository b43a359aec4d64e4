"""Fixtures of the web-download tests: the counting servers of ``tests.support.webserver``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.webserver import CountingServer, serving


@pytest.fixture
def server() -> Iterator[CountingServer]:
    """The server the tests fetch from, on 127.0.0.1."""
    with serving("127.0.0.1") as server:
        yield server


@pytest.fixture
def other() -> Iterator[CountingServer]:
    """A second server on 127.0.0.1 (another port): a redirect target that must not be hit."""
    with serving("127.0.0.1") as server:
        yield server


@pytest.fixture
def other_address() -> Iterator[CountingServer]:
    """A server on 127.0.0.2: a redirect target on another loopback address."""
    with serving("127.0.0.2") as server:
        yield server
