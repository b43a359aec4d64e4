"""Acceptance: glance-download between two live ``imgreg-api`` servers, each with its own
database and store, as two regions. Server B holds an active image; server A, told where B is
by the caller's service catalog (the ``X-Service-Catalog`` header keystonemiddleware sets),
imports it: A's image ends active with B's data, hashes, formats and allowed properties."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import dbs
from tests.support.server import Server, start_api, stop

# tools/test's first pass only (SQLite, ``first_pass``): the import's database side is tested on
# every engine by tests/functional/test_import*.py; here the two servers' HTTP exchange
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]

DATA = os.urandom(3 * 1024 * 1024 + 17)
CALLER = {
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "p1",
    "X-User-Id": "u1",
    "X-Roles": "member,reader",
    "X-Auth-Token": "e2e-caller-token",
}


@pytest.fixture
def region_b(tmp_path: Path) -> Iterator[Server]:
    """The other region: its own database and store."""
    home = tmp_path / "b"
    home.mkdir()
    url = dbs.create_database(str(home))
    srv = start_api(home, url)
    try:
        yield srv
    finally:
        stop(srv)
        dbs.drop_database(url)


@pytest.fixture
def region_a(tmp_path: Path, clean_db: str, region_b: Server) -> Iterator[Server]:
    """This region: glance-download on, B's endpoint let through the import filters."""
    home = tmp_path / "a"
    home.mkdir()
    options = {
        "enabled_import_methods": "glance-direct,web-download,glance-download",
        "import_filtering_opts.allow_private_addresses": "true",
        "import_filtering_opts.allowed_hosts": "127.0.0.1",
        "import_filtering_opts.allowed_ports": str(region_b.port),
    }
    srv = start_api(home, clean_db, options)
    try:
        yield srv
    finally:
        stop(srv)


def call(server: Server, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {**CALLER, **kw.pop("headers", {})}
    return requests.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kw)


def test_region_a_imports_region_bs_image(region_a: Server, region_b: Server) -> None:
    body = {
        "name": "in b",
        "disk_format": "raw",
        "container_format": "ovf",
        "hw_disk_bus": "virtio",
        "os_distro": "fedora",
        "architecture": "aarch64",
    }
    remote = call(region_b, "POST", "/v2/images", json=body).json()
    resp = call(
        region_b,
        "PUT",
        f"/v2/images/{remote['id']}/file",
        data=DATA,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 204, resp.text
    remote = call(region_b, "GET", f"/v2/images/{remote['id']}").json()
    assert remote["status"] == "active"

    local = call(
        region_a,
        "POST",
        "/v2/images",
        json={"name": "in a", "disk_format": "qcow2", "container_format": "bare"},
    ).json()
    catalog = [
        {
            "type": "image",
            "name": "glance",
            "endpoints": [
                {"region": "RegionOne", "publicURL": region_a.url},
                {"region": "RegionTwo", "publicURL": region_b.url},
            ],
        }
    ]
    method = {
        "name": "glance-download",
        "glance_image_id": remote["id"],
        "glance_region": "RegionTwo",
    }
    resp = call(
        region_a,
        "POST",
        f"/v2/images/{local['id']}/import",
        json={"method": method},
        headers={"X-Service-Catalog": json.dumps(catalog)},
    )
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + 60
    while (image := call(region_a, "GET", f"/v2/images/{local['id']}").json())[
        "status"
    ] == "importing" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert image["status"] == "active", (image, region_a.log())
    for name in ("size", "checksum", "os_hash_algo", "os_hash_value", "disk_format"):
        assert image[name] == remote[name], name
    assert image["container_format"] == "ovf"
    assert (image["hw_disk_bus"], image["os_distro"]) == ("virtio", "fedora")
    assert "architecture" not in image
    assert image["name"] == "in a"
    data = call(region_a, "GET", f"/v2/images/{local['id']}/file").content
    assert data == DATA
    assert "e2e-caller-token" not in region_a.log()
