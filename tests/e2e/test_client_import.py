"""Acceptance: interoperable import with the real clients against a live ``imgreg-api``:
``glance image-create-via-import`` (glance-direct and web-download), ``glance image-stage`` +
``image-import``, ``openstack image create --import`` and openstacksdk's
``create_image(..., use_import=True)``. Each ends active with the file's hashes; web-download
fetches from a local server started by the test, which counts what it serves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest

from tests.e2e.clients import (
    image_json,
    md5,
    ok,
    properties,
    run_cli,
    sha512,
    write_image,
)
from tests.support.server import BIN
from tests.support.webserver import PIECE, CountingServer, serving

# tools/test's first pass only (SQLite, ``first_pass``): the import's database side (task rows,
# locks, the stores' status properties) is tested on every engine by
# tests/functional/test_import*.py and test_tasks.py
pytestmark = [
    pytest.mark.first_pass,
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


@pytest.fixture
def web() -> Iterator[CountingServer]:
    with serving() as server:
        yield server


@pytest.fixture
def server_options(web: CountingServer) -> dict[str, object]:
    return {
        "import_filtering_opts.allow_private_addresses": "true",
        "import_filtering_opts.allowed_hosts": "127.0.0.1",
        "import_filtering_opts.allowed_ports": str(web.port),
    }


def active(server: Any, image_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        image = image_json(server, image_id)
        if image["status"] == "active" or time.monotonic() > deadline:
            assert image["status"] == "active", image
            return image
        assert not image.get("os_glance_failed_import"), image
        time.sleep(0.1)


def test_glance_create_via_import_glance_direct(server, tmp_path: Path):
    source = tmp_path / "disk.qcow2"
    data = write_image(source, "qcow2", data_mib=3)
    out = ok(
        server,
        "image-create-via-import",
        "--import-method",
        "glance-direct",
        "--file",
        str(source),
        "--disk-format",
        "qcow2",
        "--container-format",
        "bare",
        "--name",
        "direct",
    )
    image = active(server, properties(out)["id"])
    assert (image["checksum"], image["os_hash_value"]) == (md5(data), sha512(data))
    assert image["size"] == len(data)


def test_glance_create_via_import_web_download(server, web):
    out = ok(
        server,
        "image-create-via-import",
        "--import-method",
        "web-download",
        "--uri",
        web.url("/big/2"),
        "--disk-format",
        "raw",
        "--container-format",
        "bare",
        "--name",
        "web",
    )
    image = active(server, properties(out)["id"])
    data = PIECE * 32
    assert (image["checksum"], image["os_hash_value"]) == (md5(data), sha512(data))
    assert web.counts["/big/2"] == 1


def test_glance_stage_then_import(server, tmp_path: Path):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=2)
    out = ok(server, "image-create", "--disk-format", "raw", "--container-format", "bare")
    image_id = properties(out)["id"]
    ok(server, "image-stage", "--file", str(source), image_id)
    assert image_json(server, image_id)["status"] == "uploading"
    ok(server, "image-import", "--import-method", "glance-direct", image_id)
    image = active(server, image_id)
    assert (image["checksum"], image["os_hash_value"]) == (md5(data), sha512(data))


def test_openstack_image_create_import(server, tmp_path: Path):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=2)
    result = run_cli(
        server,
        [
            str(BIN / "openstack"),
            "--os-auth-type",
            "none",
            "--os-endpoint",
            server.url,
            "image",
            "create",
            "--import",
            "--file",
            str(source),
            "--disk-format",
            "raw",
            "--container-format",
            "bare",
            "-f",
            "value",
            "-c",
            "id",
            "osc-import",
        ],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    image = active(server, result.stdout.strip())
    assert (image["checksum"], image["os_hash_value"]) == (md5(data), sha512(data))


def test_sdk_create_image_use_import(server, tmp_path: Path):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=2)
    conn = openstack.connect(auth_type="none", endpoint=server.url)
    image = conn.create_image(
        "sdk-import",
        filename=str(source),
        disk_format="raw",
        container_format="bare",
        use_import=True,
        wait=True,
        timeout=60,
    )
    shown = active(server, image.id)
    assert (shown["checksum"], shown["os_hash_value"]) == (md5(data), sha512(data))
