"""Delete semantics: data removal, id tombstones, protection, delayed delete + scrub."""

from __future__ import annotations

import datetime as dt

from imgreg.db.repo import SqlImageRepo
from imgreg.domain.image import utcnow
from imgreg.maintenance import scrubber
from imgreg.services import wiring
from tests.support.client import stored_files


def test_delete_removes_data_and_id_stays_taken(api, store_dir):
    image = api.create(name="d")
    assert api.put_file(image["id"], b"abc").status_int == 204
    assert stored_files(store_dir) == [image["id"]]
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert stored_files(store_dir) == []
    assert api.get(f"/v2/images/{image['id']}").status_int == 404
    again = api.post("/v2/images", {"id": image["id"], "name": "reuse"})
    assert again.status_int == 409
    upper = api.post("/v2/images", {"id": image["id"].upper(), "name": "reuse"})
    assert upper.status_int == 409


def test_protected_image_refuses_delete_until_unprotected(api):
    image = api.create(name="p", protected=True)
    resp = api.delete(f"/v2/images/{image['id']}")
    assert resp.status_int == 403 and "is protected" in resp.text
    api.request(
        "PATCH",
        f"/v2/images/{image['id']}",
        body=[{"op": "replace", "path": "/protected", "value": False}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204


def test_delayed_delete_keeps_data_until_scrub(conf, api, store_dir):
    conf.set_override("delayed_delete", True)
    conf.set_override("scrub_time", 3600)
    image = api.create(name="later")
    assert api.put_file(image["id"], b"later").status_int == 204
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert api.get(f"/v2/images/{image['id']}").status_int == 404
    assert image["id"] not in [i["id"] for i in api.get("/v2/images").json["images"]]
    assert stored_files(store_dir) == [image["id"]]
    svc = wiring.services()
    assert scrubber.scrub(svc) == 0  # not due yet
    assert stored_files(store_dir) == [image["id"]]
    conf.set_override("scrub_time", 0)
    future = utcnow() + dt.timedelta(seconds=1)
    assert len(SqlImageRepo(svc.db).pending_deletes(future)) == 1
    assert scrubber.scrub(svc) == 1
    assert stored_files(store_dir) == []
    assert SqlImageRepo(svc.db).pending_deletes(future) == []
    assert api.post("/v2/images", {"id": image["id"]}).status_int == 409


def test_delayed_delete_of_queued_image_is_immediate(conf, api):
    conf.set_override("delayed_delete", True)
    image = api.create(name="empty")
    assert api.delete(f"/v2/images/{image['id']}").status_int == 204
    assert SqlImageRepo(wiring.services().db).pending_deletes(dt.datetime(2100, 1, 1)) == []
