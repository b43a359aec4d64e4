"""Acceptance: python-openstackclient (``openstack image …``) against a live ``imgreg-api``.

``--os-auth-type none --os-endpoint <url>`` skips Keystone, so every command acts as an
administrator; values are asserted from ``-f json`` output and from the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import api_get, image_json, md5, run_cli, sha512, write_image
from tests.support.server import BIN

# tools/test's first pass only (SQLite, ``first_pass``): what these commands ask of the database is
# tested on every engine by tests/functional/ (the same API calls through the app), and the CLIs
# meet a server on every engine in test_keystone.py
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]


def openstack(server: Any, *args: str) -> tuple[int, str]:
    command = [str(BIN / "openstack"), "--os-auth-type", "none", "--os-endpoint", server.url]
    result = run_cli(server, [*command, "image", *args])
    return result.returncode, result.stdout + result.stderr


def ok(server: Any, *args: str) -> Any:
    """Runs ``openstack image <args>``; the parsed ``-f json`` output when asked for."""
    code, output = openstack(server, *args)
    assert code == 0, f"openstack image {' '.join(args)}:\n{output}"
    return json.loads(output) if "json" in args else output


def fails(server: Any, *args: str) -> str:
    code, output = openstack(server, *args)
    assert code == 1, f"openstack image {' '.join(args)}:\n{output}"
    return output


def test_openstack_image_lifecycle(server, tmp_path: Path):
    raw_path, qcow2_path = tmp_path / "disk.raw", tmp_path / "disk.qcow2"
    raw = write_image(raw_path, "raw", data_mib=3)
    qcow2 = write_image(qcow2_path, "qcow2", data_mib=1)

    # image create: --file, formats, visibility, --property, --tag
    created = ok(
        server,
        "create",
        "--file", str(raw_path),
        "--disk-format", "raw",
        "--container-format", "bare",
        "--private",
        "--property", "os_distro=cirros",
        "--property", "hw_rng_model=virtio",
        "--tag", "t1",
        "--tag", "t2",
        "osc-raw",
        "-f", "json",
    )  # fmt: skip
    raw_id = created["id"]
    assert created["name"] == "osc-raw"
    assert created["status"] == "active"
    assert created["size"] == len(raw)
    assert created["checksum"] == md5(raw)
    assert created["disk_format"] == "raw"
    assert created["container_format"] == "bare"
    assert created["visibility"] == "private"
    assert sorted(created["tags"]) == ["t1", "t2"]
    assert created["properties"]["os_distro"] == "cirros"
    assert created["properties"]["hw_rng_model"] == "virtio"
    assert created["properties"]["os_hash_value"] == sha512(raw)

    public = ok(
        server,
        "create",
        "--file", str(qcow2_path),
        "--disk-format", "qcow2",
        "--container-format", "bare",
        "--public",
        "osc-qcow2",
        "-f", "json",
    )  # fmt: skip
    assert (public["status"], public["visibility"], public["size"]) == (
        "active",
        "public",
        len(qcow2),
    )
    assert public["checksum"] == md5(qcow2)
    shared = ok(server, "create", "--shared", "--disk-format", "raw", "osc-shared", "-f", "json")
    assert (shared["status"], shared["visibility"]) == ("queued", "shared")
    assert "size" not in shared  # the client drops null fields
    assert image_json(server, shared["id"])["size"] is None
    all_ids = {raw_id, public["id"], shared["id"]}

    # image list: --property filter, --long, visibility switches
    assert [
        i["ID"] for i in ok(server, "list", "--property", "os_distro=cirros", "-f", "json")
    ] == [raw_id]
    assert ok(server, "list", "--property", "os_distro=debian", "-f", "json") == []
    assert [i["ID"] for i in ok(server, "list", "--shared", "-f", "json")] == [shared["id"]]
    assert [i["ID"] for i in ok(server, "list", "--tag", "t2", "-f", "json")] == [raw_id]
    long = {i["ID"]: i for i in ok(server, "list", "--long", "-f", "json")}
    assert set(long) == all_ids
    row = long[raw_id]
    assert (row["Name"], row["Disk Format"], row["Container Format"]) == ("osc-raw", "raw", "bare")
    assert (row["Size"], row["Checksum"], row["Status"]) == (len(raw), md5(raw), "active")
    assert (row["Visibility"], row["Protected"]) == ("private", False)
    assert (row["Hash Algorithm"], row["Hash Value"]) == ("sha512", sha512(raw))
    assert sorted(row["Tags"]) == ["t1", "t2"]
    assert (long[shared["id"]]["Status"], long[shared["id"]]["Size"]) == ("queued", None)

    # image show, by id and by name
    shown = ok(server, "show", raw_id, "-f", "json")
    assert (shown["id"], shown["checksum"], shown["size"]) == (raw_id, md5(raw), len(raw))
    assert ok(server, "show", "osc-qcow2", "-f", "json")["id"] == public["id"]

    # image set: --name, --property, --tag, --protected
    ok(server, "set", "--name", "osc-renamed", "--property", "k=v", "--tag", "t3",
       "--protected", raw_id)  # fmt: skip
    shown = ok(server, "show", raw_id, "-f", "json")
    assert shown["name"] == "osc-renamed"
    assert shown["properties"]["k"] == "v"
    assert sorted(shown["tags"]) == ["t1", "t2", "t3"]
    assert shown["protected"] is True
    assert "403" in fails(server, "delete", raw_id)
    assert image_json(server, raw_id)["status"] == "active"
    ok(server, "set", "--unprotected", raw_id)
    assert image_json(server, raw_id)["protected"] is False

    # --deactivate / --activate
    ok(server, "set", "--deactivate", raw_id)
    assert image_json(server, raw_id)["status"] == "deactivated"
    ok(server, "set", "--activate", raw_id)
    assert image_json(server, raw_id)["status"] == "active"

    # image unset: --property, --tag
    ok(server, "unset", "--property", "k", "--property", "hw_rng_model", "--tag", "t1", raw_id)
    shown = ok(server, "show", raw_id, "-f", "json")
    assert "k" not in shown["properties"]
    assert "hw_rng_model" not in shown["properties"]
    assert shown["properties"]["os_distro"] == "cirros"
    assert sorted(shown["tags"]) == ["t2", "t3"]
    stored = image_json(server, raw_id)
    assert "k" not in stored
    assert sorted(stored["tags"]) == ["t2", "t3"]

    # image save: byte-identical
    out = tmp_path / "saved.raw"
    ok(server, "save", "--file", str(out), raw_id)
    assert out.read_bytes() == raw

    # image delete
    ok(server, "delete", raw_id, public["id"], shared["id"])
    assert ok(server, "list", "-f", "json") == []
    assert "osc-qcow2" in fails(server, "show", "osc-qcow2")
    assert api_get(server, f"/v2/images/{raw_id}").status_code == 404
    assert not (server.store_dir / raw_id).exists()
