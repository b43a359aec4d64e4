"""The default server (2 workers, 8 threads each, default timeouts) under a connection flood
that needs no credentials: 1,000 idle kept-alive connections, 200 that send nothing, 100 that
drip header bytes and 50 uploads stalled after 100 bytes, all held open at once. A canary GET
every 100 ms must never fail and keep its p99 under 100 ms, before and while a 512 MiB upload
runs, and the upload must succeed. test_connection_flood_keystone.py does the same against the
keystone flavor.

Loopback only; every request has a timeout, so the test ends in well under two minutes on a
server that does starve.
"""

from __future__ import annotations

import contextlib
import time

import pytest
import requests

from tests.e2e import flood
from tests.support.server import Server

# tools/test's first pass only (SQLite, ``first_pass``): connection handling is the server's; no
# request here reaches the database but the canary's GET and the one upload, which test_streaming.py
# covers on every engine
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

IDLE, SILENT, DRIPPERS, STALLED = 1000, 200, 100, 50
CANARY_FOR = 10.0  # seconds of canary before the upload
UPLOAD_MIB = 512
P99 = 0.1


def create(server: Server, headers: dict[str, str]) -> str:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"name": "flood", "disk_format": "raw", "container_format": "bare"},
        headers=headers,
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def absorbed(server: Server, headers: dict[str, str], stalled: list[str]) -> None:
    """Wait (10 s at most) until every stalled upload has begun (its image is saving): the
    canary measures a flood that is being held, not the server taking it in."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):  # a starved server: the canary says
            resp = requests.get(
                f"{server.url}/v2/images?status=saving&limit=100", headers=headers, timeout=2
            )
            if len(resp.json()["images"]) == len(stalled):
                return
        time.sleep(0.2)


def run_flood(server: Server, token: str = "") -> None:
    headers = {"X-Auth-Token": token} if token else {}
    canary_id = create(server, headers)
    upload_id = create(server, headers)
    stalled = {create(server, headers): token for _ in range(STALLED)}
    canary = flood.Canary(f"{server.url}/v2/images/{canary_id}", headers)
    with flood.flooding(
        server.port, idle=IDLE, silent=SILENT, drippers=DRIPPERS, stalled=stalled
    ) as held:
        absorbed(server, headers, list(stalled))
        canary.start()
        time.sleep(CANARY_FOR)
        before = canary.take()
        status, mib_s = flood.big_upload(
            f"{server.url}/v2/images/{upload_id}/file", headers, UPLOAD_MIB
        )
        during = canary.take()
        still_open = held.still_open()
        canary.halt.set()
        canary.join(timeout=5)
    print(f"\nflood held open at the end: {still_open}")
    print(f"canary, flood only:       {before}")
    print(f"canary, flood and upload: {during}")
    print(f"upload of {UPLOAD_MIB} MiB: {status}, {mib_s:.0f} MiB/s")
    for stats in (before, during):
        assert not stats.failures, stats.failures[:5]
        assert stats.p99 < P99, str(stats)
    assert status == "204"
    resp = requests.get(f"{server.url}/v2/images/{upload_id}", headers=headers, timeout=10)
    assert resp.json()["size"] == UPLOAD_MIB << 20
    assert still_open == {"idle": IDLE, "silent": SILENT, "drippers": DRIPPERS, "stalled": STALLED}


def test_flood_does_not_starve_the_default_server(server: Server) -> None:
    run_flood(server)
