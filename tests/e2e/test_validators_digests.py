"""ETags and digests through a real ``imgreg-api`` (gunicorn, two workers, sendfile): an upload
checked against its ``Repr-Digest``, a download verified by the client against its own,
``HEAD`` without a body, and two PATCHes racing with one ETag from separate connections."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import threading
from pathlib import Path

import requests

from tests.support.server import Server

PATCH = "application/openstack-images-v2.1-json-patch"
DATA = os.urandom(5 * 1024 * 1024 + 7)  # over one send block


def sf_digest(name: str, digest: bytes) -> str:
    return f"{name}=:{base64.b64encode(digest).decode()}:"


def parse_repr_digest(header: str) -> dict[str, bytes]:
    found = {}
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        found[name] = base64.b64decode(value.strip(":"))
    return found


def new_image(server: Server) -> str:
    resp = requests.post(
        f"{server.url}/v2/images",
        json={"name": "e2e", "disk_format": "raw", "container_format": "bare"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_upload_and_download_verified_end_to_end(server: Server) -> None:
    image_id = new_image(server)
    url = f"{server.url}/v2/images/{image_id}/file"
    octets = {"Content-Type": "application/octet-stream"}
    wrong = sf_digest("sha-256", hashlib.sha256(b"other").digest())
    resp = requests.put(url, data=DATA, headers={**octets, "Repr-Digest": wrong}, timeout=60)
    assert resp.status_code == 400
    assert requests.get(f"{server.url}/v2/images/{image_id}", timeout=10).json()["status"] == (
        "queued"
    )
    right = sf_digest("sha-256", hashlib.sha256(DATA).digest())
    resp = requests.put(url, data=DATA, headers={**octets, "Repr-Digest": right}, timeout=60)
    assert resp.status_code == 204, resp.text

    resp = requests.get(url, timeout=60)
    assert resp.status_code == 200
    digests = parse_repr_digest(resp.headers["Repr-Digest"])
    assert digests == {  # client-side verify
        "sha-256": hashlib.sha256(resp.content).digest(),
        "sha-512": hashlib.sha512(resp.content).digest(),
    }
    assert resp.content == DATA
    assert resp.headers["ETag"] == f'"{hashlib.sha512(DATA).hexdigest()}"'

    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(DATA)
    assert head.headers["Repr-Digest"] == resp.headers["Repr-Digest"]

    ranged = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == DATA[100:200]
    assert ranged.headers["Repr-Digest"] == resp.headers["Repr-Digest"]

    again = requests.get(url, headers={"If-None-Match": resp.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""


def test_repr_digest_matches_sha256sum(server: Server, tmp_path: Path) -> None:
    """A plain upload (no Repr-Digest), downloaded by curl; ``sha256sum`` of the file on disk
    is the download's ``sha-256``."""
    image_id = new_image(server)
    url = f"{server.url}/v2/images/{image_id}/file"
    octets = {"Content-Type": "application/octet-stream"}
    assert requests.put(url, data=DATA, headers=octets, timeout=60).status_code == 204
    path, head = tmp_path / "disk.raw", tmp_path / "head.txt"
    subprocess.run(["curl", "-sf", "-D", str(head), "-o", str(path), url], check=True)
    fields = dict(line.split(":", 1) for line in head.read_text().splitlines() if ":" in line)
    names = {name.lower(): value.strip() for name, value in fields.items()}
    sent = parse_repr_digest(names["repr-digest"])["sha-256"].hex()
    summed = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    assert summed.stdout.split()[0] == sent


def test_racing_patches_with_one_etag_over_http(server: Server) -> None:
    image_id = new_image(server)
    url = f"{server.url}/v2/images/{image_id}"
    shown = requests.get(url, timeout=10)
    etag = shown.headers["ETag"]
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == etag
    rounds = 10
    for n in range(rounds):
        barrier = threading.Barrier(2, timeout=30)
        statuses: list[int] = []

        def rename(
            name: str,
            tag: str = etag,
            gate: threading.Barrier = barrier,
            statuses: list[int] = statuses,
        ) -> None:
            with requests.Session() as session:  # a connection of its own
                gate.wait()
                resp = session.patch(
                    url,
                    data=f'[{{"op": "replace", "path": "/name", "value": "{name}"}}]',
                    headers={"Content-Type": PATCH, "If-Match": tag},
                    timeout=30,
                )
                statuses.append(resp.status_code)

        threads = [threading.Thread(target=rename, args=(f"{n}-{who}",)) for who in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(statuses) == [200, 412]
        etag = requests.get(url, timeout=10).headers["ETag"]
