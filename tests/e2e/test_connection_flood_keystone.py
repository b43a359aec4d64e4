"""The connection flood of ``test_connection_flood`` against the keystone flavor, with a real
Keystone (``tools/keystone``): the flood sends no token (it needs none to hold a connection),
except the stalled uploads, which are a member's (a request without a token is answered 401
before its body is read)."""

from __future__ import annotations

import pytest

from tests.e2e.test_connection_flood import run_flood
from tests.e2e.test_keystone import keystone, server_options, tokens  # noqa: F401 (fixtures)
from tests.support.server import Server

# tools/test's first pass only (SQLite, ``first_pass``): connection handling is the server's, as in
# test_connection_flood.py; Keystone tokens meet every engine in test_keystone.py
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]


def test_flood_does_not_starve_the_keystone_flavor(
    server: Server,
    tokens: dict[str, str],  # noqa: F811
) -> None:
    run_flood(server, tokens["p1-member"])
