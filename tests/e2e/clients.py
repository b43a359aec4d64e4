"""Helpers for the client acceptance tests (``test_client_*.py``): image files, running a
client CLI against a ``server``, and requests acting as a project.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from tests.support.images import qcow2
from tests.support.server import BIN

MiB = 1 << 20


def qcow2_bytes(data_mib: int = 2) -> bytes:
    """A minimal valid qcow2 v3 header (padded to 512 bytes) + random data."""
    return qcow2(os.urandom(data_mib * MiB))


def write_image(path: Path, fmt: str = "raw", data_mib: int = 2) -> bytes:
    data = qcow2_bytes(data_mib) if fmt == "qcow2" else os.urandom(data_mib * MiB)
    path.write_bytes(data)
    return data


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


@contextlib.contextmanager
def tty_stdin() -> Iterator[int]:
    """A terminal for the client's stdin: glance and openstack read image data from a
    non-terminal stdin, so a command without ``--file`` would upload whatever stdin holds."""
    master, slave = os.openpty()
    try:
        yield slave
    finally:
        os.close(slave)
        os.close(master)


def run_cli(
    server: Any, command: list[str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    with tty_stdin() as stdin:
        return subprocess.run(
            command,
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=server.store_dir.parent,
        )


def project_headers(project: str, user: str = "u1", roles: str = "member,reader") -> dict[str, str]:
    """The noauth pipeline's identity headers for a project-scoped caller."""
    return {
        "X-Identity-Status": "Confirmed",
        "X-Project-Id": project,
        "X-User-Id": user,
        "X-Roles": roles,
    }


def api_get(server: Any, path: str, project: str | None = None) -> requests.Response:
    headers = project_headers(project) if project else {}
    return requests.get(f"{server.url}{path}", headers=headers, timeout=10)


def image_json(server: Any, image_id: str) -> dict[str, Any]:
    """The image as the server stores it (admin ``GET``)."""
    resp = api_get(server, f"/v2/images/{image_id}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def listed_ids(server: Any, project: str | None = None, query: str = "") -> list[str]:
    """Every image id ``GET /v2/images`` lists to the caller (all pages)."""
    ids: list[str] = []
    path: str | None = f"/v2/images?limit=100{'&' + query if query else ''}"
    while path:
        resp = api_get(server, path, project)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        ids += [image["id"] for image in body["images"]]
        path = body.get("next")
    return ids


# -- the glance CLI's output, as the CLI tests read it ----------------------------------------
ROW = re.compile(r"^\| (.*?) +\| (.*?) *\|$")


def glance(server: Any, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "glance"), *(["--debug"] if debug else [])]
    return run_cli(server, [*command, "--os-image-url", server.url, "--os-auth-token", "x", *args])


def ok(server: Any, *args: str, debug: bool = False) -> str:
    result = glance(server, *args, debug=debug)
    assert result.returncode == 0, f"glance {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout + (result.stderr if debug else "")


def fails(server: Any, *args: str) -> str:
    result = glance(server, *args)
    assert result.returncode == 1, f"glance {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stderr


def properties(stdout: str) -> dict[str, str]:
    """A ``| Property | Value |`` table; a wrapped value's continuation rows are joined."""
    table: dict[str, str] = {}
    key = ""
    for line in stdout.splitlines():
        match = ROW.match(line)
        if match is None or match.group(1) == "Property":
            continue
        name, value = match.groups()
        if name:
            key = name
            table[key] = value
        else:
            table[key] += value
    return table


def rows(stdout: str) -> list[list[str]]:
    """The data rows of a list table, cells stripped."""
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def ids(stdout: str) -> list[str]:
    return [row[0] for row in rows(stdout)]
