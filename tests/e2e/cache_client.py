"""Helpers for the image cache's client acceptance tests: ``glance cache-list`` as a table, a
wait until a copy is a hit, and a plain download."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.e2e.clients import ok, rows


def cache_table(server: Any) -> dict[str, list[str]]:
    """``glance cache-list``: image id → [state, last accessed, last modified, size, hits]."""
    return {row[0]: row[1:] for row in rows(ok(server, "cache-list"))}


def wait_cached(server: Any, image_id: str, timeout: float = 20) -> None:
    """Until the copy is a hit: the client has the last byte before the server's fill is
    verified, renamed and recorded (and a queued image waits for the prefetcher)."""
    deadline = time.monotonic() + timeout
    while True:
        cached = requests.get(f"{server.url}/v2/cache", timeout=10).json()["cached_images"]
        if image_id in [e["image_id"] for e in cached]:
            return
        assert time.monotonic() < deadline, f"image {image_id} was not cached"
        time.sleep(0.05)


def download(server: Any, image_id: str, **headers: str) -> requests.Response:
    resp = requests.get(f"{server.url}/v2/images/{image_id}/file", headers=headers, timeout=60)
    assert resp.status_code in (200, 206), resp.text
    return resp
