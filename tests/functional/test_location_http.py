"""Locations in the read-only http store (Glance's ``http`` type, what tempest's location tests
use): any URL its filter admits is a location, read on download and never deleted; the
metadata service and private addresses stay refused unless the filter is opened to them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgreg.conf.store import backend_opts, store_opts
from imgreg.importing import flow
from imgreg.maintenance import invariants
from imgreg.services import wiring
from tests.functional.test_location_api import add, settled
from tests.functional.test_location_patch import OWNER, patch
from tests.support.client import Client, client_with
from tests.support.webserver import BODY, CountingServer, serving


@pytest.fixture
def web() -> Iterator[CountingServer]:
    with serving() as server:
        yield server


@pytest.fixture
def stores(conf: Any, tmp_path: Path, web: CountingServer) -> None:
    conf.register_opts(store_opts + backend_opts, group="local")
    conf.register_opts(store_opts + backend_opts, group="web")
    conf.set_override("filesystem_store_datadir", str(tmp_path / "local"), group="local")
    conf.set_override("enabled_backends", {"local": "file", "web": "http"})
    conf.set_override("default_backend", "local", group="glance_store")
    conf.set_override("allow_private_addresses", True, group="import_filtering_opts")
    conf.set_override("allowed_ports", [str(web.port)], group="import_filtering_opts")


@pytest.fixture
def owner(conf: Any, stores: None) -> Client:
    return client_with(conf, show_multiple_locations=True).as_(OWNER)


def location(url: str) -> dict[str, Any]:
    return {"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}


def test_an_http_location_activates_the_image_and_is_read_from_there(owner, web):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    resp = patch(owner, image["id"], [location(web.url("/body"))])
    assert resp.status_int == 200, resp.text
    assert resp.json["status"] == "active" and resp.json["size"] == len(BODY)
    assert resp.json["locations"] == [{"url": web.url("/body"), "metadata": {"store": "web"}}]
    assert resp.json["stores"] == "web"
    before = web.counts["/body"]
    assert owner.get(f"/v2/images/{image['id']}/file").body == BODY
    assert web.counts["/body"] == before + 1
    assert owner.delete(f"/v2/images/{image['id']}").status_int == 204
    assert web.counts["/body"] == before + 1  # nothing sent to the web server on delete


def test_post_location_hashes_what_the_web_server_sends(owner, web):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    service = owner.as_(OWNER, roles="member,reader,service")
    body = {"url": web.url("/body"), "validation_data": {
        "os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(BODY).hexdigest(),
    }}  # fmt: skip
    assert add(service, image["id"], body).status_int == 202
    shown = settled(owner, image["id"])
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(BODY).hexdigest()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:1/body",  # a port the filter does not allow
        "http://user:secret@127.0.0.1:{port}/body",
        "ftp://127.0.0.1:{port}/body",
    ],
)
def test_the_filter_refuses_what_it_does_not_admit(owner, web, url):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    resp = patch(owner, image["id"], [location(url.format(port=web.port))])
    assert resp.status_int == 400, resp.text
    shown = owner.get(f"/v2/images/{image['id']}").json
    assert (shown["status"], shown["locations"]) == ("queued", [])
    assert web.total == 0


def test_the_metadata_service_stays_refused_with_private_addresses_closed(conf, owner, web):
    conf.set_override("allow_private_addresses", False, group="import_filtering_opts")
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    resp = patch(owner, image["id"], [location(web.url("/body"))])  # loopback: private
    assert resp.status_int == 400, resp.text
    assert web.total == 0


def test_nothing_can_be_uploaded_to_the_http_store(owner):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    resp = owner.put_file(image["id"], b"data", **{"X-Image-Meta-Store": "web"})
    assert resp.status_int == 400, resp.text
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "queued"


def test_stores_info_says_the_http_store_is_read_only(conf, owner):
    stores = {s["id"]: s for s in owner.get("/v2/info/stores").json["stores"]}
    assert stores["web"].get("read-only") == "true"
    assert "read-only" not in stores["local"] and stores["local"]["default"] == "true"


def test_check_is_clean_with_http_locations(owner, web):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    ops = [location(web.url("/body")), location(web.url("/chain/1"))]  # two in one store
    assert patch(owner, image["id"], ops).status_int == 200
    assert invariants.check(wiring.services()) == []


def test_an_owner_may_post_an_http_location_but_not_a_store_blob(owner, web, tmp_path):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    assert add(owner, image["id"], {"url": web.url("/body") + "#1"}).status_int == 202
    shown = settled(owner, image["id"])
    assert shown["status"] == "active" and shown["size"] == len(BODY)
    other = owner.create(name="file", disk_format="raw", container_format="bare")
    blob = tmp_path / "local" / other["id"]
    blob.write_bytes(BODY)
    resp = add(owner, other["id"], {"url": f"file://{blob.resolve()}"})
    assert resp.status_int == 403, resp.text  # a store's own blob: services only


def test_imports_to_all_stores_leave_the_http_store_out(owner, web):
    image = owner.create(name="all", disk_format="raw", container_format="bare")
    staged = owner.request(
        "PUT", f"/v2/images/{image['id']}/stage", raw=b"staged data",
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert staged.status_int == 204
    body = {"method": {"name": "glance-direct"}, "all_stores": True}
    assert owner.post(f"/v2/images/{image['id']}/import", body).status_int == 202
    assert flow.wait_idle(30)
    shown = owner.get(f"/v2/images/{image['id']}").json
    assert (shown["status"], shown["stores"]) == ("active", "local")
    other = owner.create(name="named", disk_format="raw", container_format="bare")
    body = {"method": {"name": "web-download", "uri": web.url("/body")}, "stores": ["web"]}
    resp = owner.post(f"/v2/images/{other['id']}/import", body)
    assert resp.status_int == 400 and "read-only" in resp.text


def test_a_failed_http_location_import_keeps_the_location_as_glance(owner, web):
    """Glance's bug 2076648, which tempest's LocationImportTest asserts: the http store deletes
    nothing, so the queued image keeps the location (and ``stores``); its hashes are unset."""
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    body = {"url": web.url("/body"), "validation_data": {
        "os_hash_algo": "sha512", "os_hash_value": "beefdead" * 16,
    }}  # fmt: skip
    assert add(owner, image["id"], body).status_int == 202
    shown = settled(owner, image["id"])
    assert (shown["status"], shown["stores"]) == ("queued", "web")
    assert shown["checksum"] is None and shown["os_hash_value"] is None
    tasks = owner.get(f"/v2/images/{image['id']}/tasks").json["tasks"]
    assert [t["status"] for t in tasks] == ["failure"]
    assert invariants.check(wiring.services()) == []


def test_an_owners_filtered_http_location_is_400_saying_so(owner, web):
    image = owner.create(name="web", disk_format="raw", container_format="bare")
    resp = add(owner, image["id"], {"url": "http://169.254.169.254/latest/meta-data/"})
    assert resp.status_int == 400 and "does not pass filtering" in resp.text, resp.text
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "queued"
