"""``PUT /v2/images/{id}/stage`` and ``POST /v2/images/{id}/import``: glance-direct and
web-download end to end through the WSGI app (the import runs on the app's import threads),
Glance's refusals, and what a failed stage or import leaves: a re-usable image, no data."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg
from sqlalchemy import update

from imgreg import wsgi
from imgreg.db.models import ImageRow
from imgreg.domain.image import utcnow
from imgreg.maintenance import recovery
from imgreg.services import wiring
from tests.support.client import Client, stored_files
from tests.support.webserver import BODY, STALL, CountingServer, serving

DATA = bytes(range(256)) * 64


@pytest.fixture
def web() -> Iterator[CountingServer]:
    with serving() as server:
        yield server


@pytest.fixture
def client(conf: cfg.ConfigOpts, web: CountingServer) -> Client:
    """web-download may reach the test's server (loopback, its port) and nothing else."""
    group = "import_filtering_opts"
    conf.set_override("allow_private_addresses", True, group=group)
    conf.set_override("allowed_hosts", ["127.0.0.1"], group=group)
    conf.set_override("allowed_ports", [str(web.port)], group=group)
    wiring.reset()
    return Client(wsgi.load_app(conf)).as_("p1")


def show(client: Client, image_id: str) -> dict[str, Any]:
    return client.get(f"/v2/images/{image_id}").json


def settled(client: Client, image_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """The image once its import ended (no longer ``importing``)."""
    deadline = time.monotonic() + timeout
    while True:
        image = show(client, image_id)
        if image["status"] != "importing" or time.monotonic() > deadline:
            return image
        time.sleep(0.05)


def stage(client: Client, image_id: str, data: bytes) -> Any:
    return client.request(
        "PUT",
        f"/v2/images/{image_id}/stage",
        raw=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def do_import(client: Client, image_id: str, **method: Any) -> Any:
    extra = method.pop("body", {})
    return client.post(f"/v2/images/{image_id}/import", {"method": method, **extra})


def image_tasks(client: Client, image_id: str) -> list[dict[str, Any]]:
    return client.get(f"/v2/images/{image_id}/tasks").json["tasks"]


def test_glance_direct_stages_then_imports_without_a_copy(client, store_dir):
    image = client.create(name="direct")
    resp = stage(client, image["id"], DATA)
    assert resp.status_int == 204
    staged = show(client, image["id"])
    assert staged["status"] == "uploading"
    assert staged["size"] == len(DATA)
    assert staged["checksum"] is None  # the image's once imported
    assert client.get(f"/v2/images/{image['id']}/file").status_int == 204  # not served
    assert stored_files(store_dir) == [image["id"]]
    resp = do_import(client, image["id"], name="glance-direct")
    assert resp.status_int == 202
    assert resp.body == b""
    done = settled(client, image["id"])
    assert done["status"] == "active"
    assert done["checksum"] == hashlib.md5(DATA).hexdigest()
    assert done["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert done["os_glance_failed_import"] == ""
    assert done["os_glance_importing_to_stores"] == ""
    assert "os_glance_import_task" not in done
    assert client.get(f"/v2/images/{image['id']}/file").body == DATA
    assert stored_files(store_dir) == [image["id"]]
    (task,) = image_tasks(client, image["id"])
    assert task["status"] == "success"
    assert task["type"] == "api_image_import"
    assert task["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert task["request_id"] == resp.headers["x-openstack-request-id"]


def test_web_download_fetches_once_and_activates(client, web, store_dir):
    image = client.create(name="web")
    resp = do_import(client, image["id"], name="web-download", uri=web.url("/body"))
    assert resp.status_int == 202
    done = settled(client, image["id"])
    assert done["status"] == "active"
    assert done["size"] == len(BODY)
    assert done["os_hash_value"] == hashlib.sha512(BODY).hexdigest()
    assert web.counts["/body"] == 1
    assert client.get(f"/v2/images/{image['id']}/file").body == BODY


def test_web_download_that_fails_leaves_a_reimportable_image(client, web, store_dir):
    image = client.create(name="web")
    assert (
        do_import(client, image["id"], name="web-download", uri=web.url("/missing")).status_int
        == 202
    )
    failed = settled(client, image["id"])
    assert failed["status"] == "queued"
    assert failed["os_glance_failed_import"] != ""
    assert failed["size"] is None
    assert stored_files(store_dir) == []
    (task,) = image_tasks(client, image["id"])
    assert task["status"] == "failure"
    assert "404" in task["message"]
    # the same image imports fine afterwards
    assert (
        do_import(client, image["id"], name="web-download", uri=web.url("/body")).status_int == 202
    )
    assert settled(client, image["id"])["status"] == "active"


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:1/x",  # a port not allowed
        "ftp://127.0.0.1/x",
        "http://user:secret@127.0.0.1/x",
        "http://2130706433/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_web_download_refuses_filtered_uris_with_400(client, web, uri):
    image = client.create(name="web")
    resp = do_import(client, image["id"], name="web-download", uri=uri)
    assert resp.status_int == 400
    assert "does not pass filtering" in resp.text
    assert "secret" not in resp.text
    assert show(client, image["id"])["status"] == "queued"
    assert web.total == 0


def test_import_refusals_in_glance_order(client):
    image = client.create(name="x")
    image_id = image["id"]
    url = f"/v2/images/{image_id}/import"
    assert client.post(url, {}).status_int == 400
    assert client.post(url, {"method": "glance-direct"}).status_int == 400
    assert client.post(url, {"method": {}}).status_int == 400
    resp = client.post(url, {"method": {"name": "no-such"}})
    assert resp.status_int == 400
    assert "Unknown import method name 'no-such'." in resp.text
    resp = client.post(url, {"method": {"name": "glance-direct"}, "all_stores": "yes"})
    assert resp.status_int == 400
    # not staged: 409
    resp = do_import(client, image_id, name="glance-direct")
    assert resp.status_int == 409
    assert "Image needs to be staged before 'glance-direct' method can be used" in resp.text
    # copy-image: the image's status first (Glance's order), then the policy (admins)
    resp = do_import(client, image_id, name="copy-image")
    assert resp.status_int == 409
    assert "Only images with status active can be targeted for copying" in resp.text


@pytest.mark.parametrize("accept", ["text/plain", "text/html", "*/*"])
def test_unknown_method_name_that_is_not_text_is_400_in_every_error_body(client, accept):
    """A lone surrogate (``"\\ud800"`` in JSON) cannot be encoded: echoed into a plain-text or
    HTML error body it made the error page itself fail, and the server answered 500."""
    image = client.create(name="x")
    resp = client.request(
        "POST",
        f"/v2/images/{image['id']}/import",
        raw=b'{"method": {"name": "glance-direct\\ud800"}}',
        headers={"Content-Type": "application/json", "Accept": accept},
    )
    assert resp.status_int == 400
    assert "surrogates" in resp.text
    assert show(client, image["id"])["status"] == "queued"


def test_import_needs_formats_and_a_staged_image(client):
    resp = client.post("/v2/images", {"name": "no formats"})
    image_id = resp.json["id"]
    assert stage(client, image_id, DATA).status_int == 204  # stage needs no formats
    resp = do_import(client, image_id, name="glance-direct")
    assert resp.status_int == 409
    assert "'container_format' needs to be set before import" in resp.text
    assert show(client, image_id)["status"] == "uploading"


def test_active_image_cannot_be_imported_or_staged(client):
    image = client.create(name="x")
    assert client.put_file(image["id"], DATA).status_int == 204
    assert do_import(client, image["id"], name="glance-direct").status_int == 409
    assert stage(client, image["id"], DATA).status_int == 409


def test_stage_twice_and_upload_after_stage_are_409(client, store_dir):
    image = client.create(name="x")
    assert stage(client, image["id"], DATA).status_int == 204
    assert stage(client, image["id"], DATA).status_int == 409
    assert client.put_file(image["id"], DATA).status_int == 409
    assert stored_files(store_dir) == [image["id"]]


def test_a_failed_stage_leaves_queued_and_nothing(client, store_dir):
    image = client.create(name="x", disk_format="qcow2")
    resp = stage(client, image["id"], DATA)  # raw bytes claimed as qcow2
    assert resp.status_int == 415
    assert show(client, image["id"])["status"] == "queued"
    assert stored_files(store_dir) == []
    resp = client.request("PUT", f"/v2/images/{image['id']}/stage", raw=DATA)
    assert resp.status_int == 415  # not octet-stream


def test_deleting_a_staged_image_removes_its_data(client, store_dir):
    image = client.create(name="x")
    assert stage(client, image["id"], DATA).status_int == 204
    assert client.delete(f"/v2/images/{image['id']}").status_int == 204
    assert stored_files(store_dir) == []


def test_only_the_owner_may_stage_or_import(client, web):
    image = client.create(name="x", visibility="community")
    other = client.as_("someone-else")
    assert stage(other, image["id"], DATA).status_int == 403
    resp = do_import(other, image["id"], name="web-download", uri=web.url("/body"))
    assert resp.status_int == 403
    assert show(client, image["id"])["status"] == "queued"
    assert image_tasks(client, image["id"]) == []
    assert web.total == 0


def test_stage_is_404_when_glance_direct_is_off(conf, client):
    conf.set_override("enabled_import_methods", ["web-download"])
    image = client.create(name="x")
    assert stage(client, image["id"], DATA).status_int == 404
    resp = do_import(client, image["id"], name="glance-direct")
    assert resp.status_int == 400


def test_create_says_which_import_methods_exist(client):
    resp = client.post("/v2/images", {"name": "x"})
    assert resp.headers["OpenStack-image-import-methods"] == "glance-direct,web-download,copy-image"


def test_web_download_redirect_to_a_refused_target_fails_the_task(client, web):
    """The first hop passes the filter; its redirect (to another port) is refused while the
    import runs: the target gets no request, the task says why, the image is re-usable."""
    with serving() as target:
        image = client.create(name="web")
        uri = web.url(f"/redirect?to={target.url('/body')}")
        assert do_import(client, image["id"], name="web-download", uri=uri).status_int == 202
        failed = settled(client, image["id"])
        assert failed["status"] == "queued"
        assert failed["os_glance_failed_import"] != ""
        (task,) = image_tasks(client, image["id"])
        assert task["status"] == "failure"
        assert "port" in task["message"]
        assert web.counts["/redirect"] == 1
        assert target.total == 0


def test_import_with_conversion_stores_raw(conf, client, store_dir, tmp_path):
    """image_conversion (qemu-img, real) turns a staged qcow2 into raw before it is stored."""

    conf.set_override("image_import_plugins", ["image_conversion"], group="image_import_opts")
    source = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(source), "8M"], check=True)
    image = client.create(name="convert", disk_format="qcow2")
    assert stage(client, image["id"], source.read_bytes()).status_int == 204
    assert do_import(client, image["id"], name="glance-direct").status_int == 202
    done = settled(client, image["id"])
    assert done["status"] == "active", done
    assert done["disk_format"] == "raw"
    assert done["size"] == 8 * 1024 * 1024
    data = client.get(f"/v2/images/{image['id']}/file").body
    assert data == bytes(8 * 1024 * 1024)
    assert done["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert stored_files(store_dir) == [image["id"]]


def test_an_import_whose_worker_went_silent_is_failed_by_the_reaper(client, web, store_dir):
    """The lease of a running import runs out (its worker stopped renewing): the reaper takes
    the image back to queued and fails the task; the stalled fetch, when it wakes up, finds it
    lost the image and leaves it alone."""
    image = client.create(name="web")
    image_id = image["id"]
    assert do_import(client, image_id, name="web-download", uri=web.url("/slow-head")).status_int
    deadline = time.monotonic() + 10
    while image_tasks(client, image_id)[0]["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    svc = wiring.services()
    with svc.db.write() as session:
        session.execute(
            update(ImageRow)
            .where(ImageRow.id == image_id)
            .values(upload_expires_at=utcnow() - dt.timedelta(hours=1))
        )
    reaped = recovery.reap(svc)
    assert reaped.images == [image_id]
    shown = show(client, image_id)
    assert (shown["status"], shown["os_glance_failed_import"]) == ("queued", "file")
    assert "os_glance_import_task" not in shown
    (task,) = image_tasks(client, image_id)
    assert task["status"] == "failure"
    assert "went away" in task["message"]
    time.sleep(STALL + 0.5)  # the fetch answers, and the import finds it lost its lease
    assert show(client, image_id)["status"] == "queued"
    assert stored_files(store_dir) == []
    assert image_tasks(client, image_id)[0]["message"] == task["message"]
