"""Acceptance: the python-glanceclient CLI (``glance``) against a live ``imgreg-api``.

The CLI acts as an administrator (``--os-auth-token`` skips Keystone; no identity headers);
a member project's own step (accepting a share) goes through ``requests`` with its headers,
since the CLI cannot send them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import (
    api_get,
    fails,
    ids,
    image_json,
    listed_ids,
    md5,
    ok,
    project_headers,
    properties,
    rows,
    sha512,
    write_image,
)

# tools/test's first pass only (SQLite, ``first_pass``): what these commands ask of the database is
# tested on every engine by tests/functional/ (the same API calls through the app), and the CLIs
# meet a server on every engine in test_keystone.py (its CLI through the catalog)
pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]


def test_glance_create_show_update_tags_deactivate_download_delete(server, tmp_path: Path):
    source = tmp_path / "disk.qcow2"
    data = write_image(source, "qcow2", data_mib=3)

    # image-create with --file and --property: created, uploaded, active
    created = properties(
        ok(
            server,
            "image-create",
            "--name", "cirros-qcow2",
            "--file", str(source),
            "--disk-format", "qcow2",
            "--container-format", "bare",
            "--property", "os_distro=cirros",
            "--property", "build=42",
            "--owner", "proj-a",
        )
    )  # fmt: skip
    image_id = created["id"]
    assert created["status"] == "active"
    assert created["name"] == "cirros-qcow2"
    assert created["size"] == str(len(data))
    assert created["checksum"] == md5(data)
    assert created["os_hash_algo"] == "sha512"
    assert created["os_hash_value"] == sha512(data)
    assert created["os_distro"] == "cirros"
    assert created["build"] == "42"
    assert created["owner"] == "proj-a"
    assert (server.store_dir / image_id).read_bytes() == data

    # image-create without --file: only the record, queued
    empty = properties(
        ok(
            server,
            "image-create",
            "--name", "placeholder",
            "--disk-format", "raw",
            "--container-format", "bare",
            "--property", "stage=planned",
        )
    )  # fmt: skip
    assert empty["status"] == "queued"
    assert empty["stage"] == "planned"
    assert image_json(server, empty["id"])["size"] is None

    # image-show
    shown = properties(ok(server, "image-show", image_id))
    assert {k: shown[k] for k in ("id", "status", "disk_format", "container_format")} == {
        "id": image_id,
        "status": "active",
        "disk_format": "qcow2",
        "container_format": "bare",
    }
    assert shown["checksum"] == md5(data)
    assert shown["os_hash_value"] == sha512(data)

    # image-update: set one property, remove another
    updated = properties(
        ok(server, "image-update", "--property", "k=v", "--remove-property", "build", image_id)
    )
    assert updated["k"] == "v"
    assert "build" not in updated
    stored = image_json(server, image_id)
    assert stored["k"] == "v"
    assert stored["os_distro"] == "cirros"
    assert "build" not in stored

    # tags
    ok(server, "image-tag-update", image_id, "gold")
    ok(server, "image-tag-update", image_id, "x86")
    assert sorted(image_json(server, image_id)["tags"]) == ["gold", "x86"]
    ok(server, "image-tag-delete", image_id, "gold")
    assert image_json(server, image_id)["tags"] == ["x86"]

    # deactivated: only an administrator (the CLI here) may download, not the owner project
    ok(server, "image-deactivate", image_id)
    assert properties(ok(server, "image-show", image_id))["status"] == "deactivated"
    assert api_get(server, f"/v2/images/{image_id}/file", "proj-a").status_code == 403
    out = tmp_path / "out.qcow2"
    ok(server, "image-download", image_id, "--file", str(out))
    assert out.read_bytes() == data
    out.unlink()
    ok(server, "image-reactivate", image_id)
    assert image_json(server, image_id)["status"] == "active"
    assert api_get(server, f"/v2/images/{image_id}/file", "proj-a").content == data

    # image-download: byte-identical, checksums as stored
    ok(server, "image-download", image_id, "--file", str(out))
    downloaded = out.read_bytes()
    assert downloaded == data
    stored = image_json(server, image_id)
    assert md5(downloaded) == stored["checksum"]
    assert sha512(downloaded) == stored["os_hash_value"]

    # image-delete
    ok(server, "image-delete", image_id, empty["id"])
    assert f"No image found with ID {image_id}" in fails(server, "image-show", image_id)
    assert api_get(server, f"/v2/images/{empty['id']}").status_code == 404
    assert not (server.store_dir / image_id).exists()
    assert ids(ok(server, "image-list")) == []


def test_glance_list_filters_and_pages(server):
    def create(name: str, *args: str) -> str:
        return properties(
            ok(server, "image-create", "--name", name, "--disk-format", "raw",
               "--container-format", "bare", *args)
        )["id"]  # fmt: skip

    public = create("pub", "--visibility", "public", "--property", "flavor=x", "--tags", "red")
    shared = create("shr", "--visibility", "shared", "--property", "flavor=y",
                    "--tags", "red", "blue")  # fmt: skip
    private = create("prv", "--visibility", "private", "--property", "flavor=x")
    bulk = []
    for i in range(4):
        resp = requests.post(
            f"{server.url}/v2/images",
            json={"name": f"bulk-{i}", "disk_format": "raw", "container_format": "bare"},
            timeout=10,
        )
        assert resp.status_code == 201, resp.text
        bulk.append(resp.json()["id"])
    everything = {public, shared, private, *bulk}

    def listed(*args: str) -> set[str]:
        return set(ids(ok(server, "image-list", *args)))

    assert listed("--property-filter", "flavor=x") == {public, private}
    assert listed("--property-filter", "flavor=y") == {shared}
    assert listed("--property-filter", "flavor=z") == set()
    assert listed("--visibility", "public") == {public}
    # an image created without a visibility is shared (Glance's default since 2.5)
    assert listed("--visibility", "shared") == {shared, *bulk}
    assert listed("--visibility", "private") == {private}
    assert listed("--property-filter", "flavor=x", "--visibility", "private") == {private}
    assert listed("--tag", "red") == {public, shared}
    assert listed("--tag", "red", "--tag", "blue") == {shared}
    assert listed("--tag", "green") == set()
    assert listed() == everything

    # --page-size 2 over 7 images: 4 requests, each image listed exactly once
    output = ok(server, "image-list", "--page-size", "2", debug=True)
    table = output[output.index("+--") :]
    counts = Counter(ids(table))
    assert set(counts) == everything
    assert set(counts.values()) == {1}
    pages = re.findall(r'"GET (/v2/images\?[^ ]*) HTTP/1\.1" 200', output)
    assert len(pages) == 4, pages
    assert all("limit=2" in page for page in pages)
    assert all("marker=" in page for page in pages[1:])


def test_glance_members(server):
    owner, member = "proj-owner", "proj-member"
    image_id = properties(
        ok(server, "image-create", "--name", "shared-img", "--disk-format", "raw",
           "--container-format", "bare", "--visibility", "shared", "--owner", owner)
    )["id"]  # fmt: skip
    assert image_json(server, image_id)["owner"] == owner

    assert rows(ok(server, "member-create", image_id, member)) == [[image_id, member, "pending"]]
    assert rows(ok(server, "member-list", "--image-id", image_id)) == [
        [image_id, member, "pending"]
    ]
    # a pending share is not in the member's default list, but it can read the image
    assert image_id not in listed_ids(server, member)
    assert api_get(server, f"/v2/images/{image_id}", member).status_code == 200

    # the member project accepts (the CLI cannot send its identity headers)
    resp = requests.put(
        f"{server.url}/v2/images/{image_id}/members/{member}",
        json={"status": "accepted"},
        headers=project_headers(member),
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"
    assert rows(ok(server, "member-list", "--image-id", image_id)) == [
        [image_id, member, "accepted"]
    ]
    assert image_id in listed_ids(server, member)
    assert image_id not in listed_ids(server, "proj-other")

    # member-update (an administrator may set the status too)
    assert rows(ok(server, "member-update", image_id, member, "rejected")) == [
        [image_id, member, "rejected"]
    ]
    assert image_id not in listed_ids(server, member)
    assert image_id in listed_ids(server, member, "member_status=rejected")

    ok(server, "member-delete", image_id, member)
    assert rows(ok(server, "member-list", "--image-id", image_id)) == []
    assert api_get(server, f"/v2/images/{image_id}", member).status_code == 404
