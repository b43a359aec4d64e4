"""The acceptance test: the real python-glanceclient CLI against ``imgreg-api``."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.support.images import qcow2

# tools/test's first pass only: the CLI's requests and rendering do not depend on the engine; the
# same calls run on every engine in tests/functional
pytestmark = pytest.mark.first_pass

BIN = Path(sys.executable).parent
MiB = 1 << 20


def qcow2_image(path: Path, data_mib: int = 3) -> bytes:
    """A minimal valid qcow2 v3 header (padded to 512 bytes) + random data, written to path."""
    data = qcow2(os.urandom(data_mib * MiB))
    path.write_bytes(data)
    return data


def glance(server, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "glance")]
    if debug:
        command.append("--debug")
    command += ["--os-image-url", server.url, "--os-auth-token", "anything", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=server.store_dir.parent,
    )


@pytest.mark.e2e
def test_glance_image_create_upload_show_and_download(server, tmp_path):
    source = tmp_path / "disk.qcow2"
    data = qcow2_image(source)

    result = glance(
        server,
        "image-create",
        "--file", str(source),
        "--disk-format", "qcow2",
        "--container-format", "bare",
        "--visibility", "public",
        debug=True,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert '"GET /v2/schemas/image HTTP/1.1" 200' in output
    assert '"POST /v2/images HTTP/1.1" 201' in output
    match = re.search(r'"PUT /v2/images/([0-9a-f-]{36})/file HTTP/1\.1" (\d{3})', output)
    assert match is not None, output
    image_id, put_status = match.groups()
    assert put_status == "204"
    # glanceclient streams the file (requests sends an iterator chunked): no Content-Length
    put_curl = next(
        line for line in output.splitlines() if line.startswith("curl") and " PUT " in line
    )
    assert "Content-Length" not in put_curl
    assert f"x-openstack-image-size': b'{len(data)}'" in put_curl
    assert re.search(rf"\| id +\| {image_id} +\|", result.stdout)
    assert re.search(r"\| status +\| active +\|", result.stdout)

    shown = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10).json()
    assert shown["status"] == "active"
    assert shown["size"] == len(data)
    assert shown["disk_format"] == "qcow2"
    assert shown["visibility"] == "public"
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert (server.store_dir / image_id).read_bytes() == data

    result = glance(server, "image-show", image_id)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"\| checksum +\| {hashlib.md5(data).hexdigest()} +\|", result.stdout)
    assert re.search(rf"\| size +\| {len(data)} +\|", result.stdout)

    out = tmp_path / "out"
    result = glance(server, "image-download", image_id, "--file", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == data


@pytest.mark.e2e
def test_glance_shows_the_servers_error_message(server):
    missing = str(uuid.uuid4())
    result = glance(server, "image-show", missing)
    assert result.returncode == 1
    assert f"No image found with ID {missing}" in result.stdout + result.stderr
    assert "404" in result.stdout + result.stderr


@pytest.mark.e2e
def test_glance_upload_to_an_active_image_shows_the_conflict(server, tmp_path):
    source = tmp_path / "disk.qcow2"
    data = qcow2_image(source, data_mib=1)
    image = requests.post(
        f"{server.url}/v2/images",
        json={"disk_format": "qcow2", "container_format": "bare"},
        timeout=10,
    ).json()
    result = glance(server, "image-upload", "--file", str(source), image["id"])
    assert result.returncode == 0, result.stderr
    result = glance(server, "image-upload", "--file", str(source), image["id"])
    assert result.returncode == 1
    assert "409 Conflict" in result.stderr
    assert "active" in result.stderr
    assert requests.get(f"{server.url}/v2/images/{image['id']}", timeout=10).json()["size"] == (
        len(data)
    )
