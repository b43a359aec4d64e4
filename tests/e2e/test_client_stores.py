"""Acceptance: several stores through the python-glanceclient CLI (``glance``) against a live
``imgreg-api``: ``stores-info`` (``--detail``), ``image-create --store``, ``image-import
--import-method copy-image --stores``, ``image-download --prefer``, ``stores-delete``, and
``imgreg-manage check`` clean after each step. (``openstack image create`` has no store
option in the installed python-openstackclient.)

The two stores are ``fast`` (a filesystem store, the default) and ``slow``: a filesystem
store, an RBD pool on ``tools/ceph`` and an S3 bucket on ``tools/swift``'s s3api. In
tools/test's first pass only (SQLite, ``first_pass``): what these commands ask of the database
(the ``stores`` of an image, its locations, a copy's task) is tested on every engine by
``tests/functional/test_stores.py``, ``test_copy_image.py`` and ``test_location_stores.py``, and
``tests/store/`` runs each driver's contract on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.clients import fails, md5, ok, properties, rows, run_cli, write_image
from tests.support.multistore import SecondStore, second_store, two_stores
from tests.support.server import BIN, manage, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.first_pass]


@pytest.fixture(params=["file", "rbd", "s3"])
def slow(request: pytest.FixtureRequest, tmp_path: Path) -> SecondStore:
    return second_store(request.param, tmp_path / "stores", request)


@pytest.fixture
def kinds(slow: SecondStore) -> dict[str, str]:
    return {"fast": "file", "slow": slow.kind}


@pytest.fixture
def server_options(tmp_path: Path, slow: SecondStore) -> dict[str, object]:
    return two_stores(tmp_path / "stores", slow)


def image(server: Any, image_id: str) -> dict[str, Any]:
    resp = requests.get(f"{server.url}/v2/images/{image_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def stores_of(server: Any, image_id: str) -> set[str]:
    return set(image(server, image_id).get("stores", "").split(",")) - {""}


def checked(server: Any) -> None:
    result = manage(server, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_glance_stores_info_create_copy_download_delete(server, tmp_path: Path, kinds):
    fast, slow = kinds
    listed = rows(ok(server, "stores-info"))
    assert any(fast in " ".join(r) for r in listed) and any(slow in " ".join(r) for r in listed)
    out = ok(server, "stores-info")
    assert "default" in out and f"the {slow} store" in out
    detail = ok(server, "stores-info", "--detail")
    assert kinds[slow] in detail and "weight" in detail and "properties" in detail

    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=3)
    created = properties(
        ok(
            server, "image-create", "--name", "two-stores", "--file", str(source),
            "--disk-format", "raw", "--container-format", "bare", "--store", slow,
        )
    )  # fmt: skip
    image_id = created["id"]
    assert created["status"] == "active"
    assert stores_of(server, image_id) == {slow}
    checked(server)

    # copy-image to the other store: active throughout, then in both
    ok(server, "image-import", image_id, "--import-method", "copy-image", "--stores", fast)
    assert image(server, image_id)["status"] == "active"
    wait_for(lambda: stores_of(server, image_id) == {fast, slow}, "the copy", timeout=60)
    wait_for(lambda: "os_glance_import_task" not in image(server, image_id), "the copy's end")
    assert image(server, image_id)["os_glance_failed_import"] == ""
    checked(server)

    for prefer in (fast, slow):
        out = tmp_path / f"from-{prefer}"
        ok(server, "image-download", "--prefer", prefer, "--file", str(out), image_id)
        assert md5(out.read_bytes()) == md5(data)

    # already there: refused; an unknown store: the CLI refuses it
    fails(server, "image-import", image_id, "--import-method", "copy-image", "--stores", fast)
    fails(server, "image-create", "--name", "x", "--disk-format", "raw",
          "--container-format", "bare", "--file", str(source), "--store", "nowhere")  # fmt: skip

    ok(server, "stores-delete", "--store", slow, image_id)
    assert stores_of(server, image_id) == {fast}
    checked(server)
    # the last copy stays
    fails(server, "stores-delete", "--store", fast, image_id)
    assert stores_of(server, image_id) == {fast}
    out = tmp_path / "after"
    ok(server, "image-download", "--file", str(out), image_id)
    assert md5(out.read_bytes()) == md5(data)
    ok(server, "image-delete", image_id)
    checked(server)


def test_glance_image_create_via_import_to_all_stores(server, tmp_path: Path, kinds):
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=2)
    created = properties(
        ok(
            server, "image-create-via-import", "--name", "everywhere", "--file", str(source),
            "--disk-format", "raw", "--container-format", "bare",
            "--import-method", "glance-direct", "--all-stores", "True",
        )
    )  # fmt: skip
    image_id = created["id"]
    wait_for(lambda: image(server, image_id)["status"] == "active", "the import", timeout=60)
    assert stores_of(server, image_id) == set(kinds)
    out = tmp_path / "back"
    ok(server, "image-download", "--file", str(out), image_id)
    assert md5(out.read_bytes()) == md5(data)
    checked(server)


def test_openstack_image_import_copy_image_with_store(server, tmp_path: Path, kinds):
    """python-openstackclient: ``image create`` (default store), then ``image import --method
    copy-image --store`` to the other one."""
    source = tmp_path / "disk.raw"
    data = write_image(source, "raw", data_mib=2)
    command = [str(BIN / "openstack"), "--os-auth-type", "none", "--os-endpoint", server.url]

    def openstack(*args: str) -> str:
        result = run_cli(server, [*command, "image", *args])
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    created = json.loads(openstack(
        "create", "--file", str(source), "--disk-format", "raw", "--container-format", "bare",
        "-f", "json", "osc-copy",
    ))  # fmt: skip
    image_id = created["id"]
    assert stores_of(server, image_id) == {"fast"}
    openstack("import", image_id, "--method", "copy-image", "--store", "slow")
    wait_for(lambda: stores_of(server, image_id) == set(kinds), "the copy", timeout=60)
    wait_for(lambda: "os_glance_import_task" not in image(server, image_id), "the copy's end")
    out = tmp_path / "back"
    ok(server, "image-download", "--prefer", "slow", "--file", str(out), image_id)
    assert md5(out.read_bytes()) == md5(data)
    checked(server)
