"""Several stores (two filesystem stores, ``fast`` the default and ``slow`` of more weight):
``/v2/info/stores`` and its detail, ``OpenStack-image-store-ids``, ``X-Image-Meta-Store``,
``DELETE /v2/stores/{store_id}/{image_id}`` and downloads (``?prefer=``, weight, fallback)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from imgreg import wsgi
from imgreg.maintenance import invariants
from imgreg.services import wiring
from tests.support.client import UNKNOWN_ID, Client
from tests.support.multistore import blob_of

DATA = b"several stores " * 1000
OWNER = "p-owner"


@pytest.fixture
def admin(stores_conf: cfg.ConfigOpts) -> Client:
    return Client(wsgi.load_app(stores_conf))  # no identity headers: admin


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    return tmp_path / "stores"


def uploaded(client: Client, data: bytes = DATA, **headers: str) -> str:
    image_id = client.create(name="multi")["id"]
    resp = client.put_file(image_id, data, **headers)
    assert resp.status_int == 204, resp.text
    return image_id


def show(client: Client, image_id: str) -> dict[str, Any]:
    return client.get(f"/v2/images/{image_id}").json


def in_both(admin: Client, roots: Path) -> str:
    """An image uploaded to ``fast``, then given a copy in ``slow`` (by an upload's data written
    into ``slow`` and recorded as its second location, as copy-image does)."""
    from tests.functional.test_copy_image import copied

    image_id = uploaded(admin)
    copied(admin, image_id, ["slow"])
    return image_id


# -- /v2/info/stores -----------------------------------------------------------------------


def test_stores_info_lists_each_store_and_the_default(admin):
    resp = admin.as_("p1").get("/v2/info/stores")
    assert resp.status_int == 200
    assert resp.json == {
        "stores": [
            {"id": "fast", "description": "the fast store", "default": "true"},
            {"id": "slow", "description": "the slow store"},
        ]
    }


def test_stores_detail_is_for_admins_and_services(admin, roots):
    resp = admin.get("/v2/info/stores/detail")
    assert resp.status_int == 200
    fast, slow = resp.json["stores"]
    assert fast == {
        "id": "fast",
        "description": "the fast store",
        "default": "true",
        "type": "file",
        "weight": 10,
        "properties": {
            "data_dir": str(roots / "fast"),
            "chunk_size": 4 * 1024 * 1024,
            "thin_provisioning": False,
        },
    }
    assert slow["weight"] == 50 and slow["type"] == "file" and "default" not in slow
    assert admin.as_("p1", roles="service").get("/v2/info/stores/detail").status_int == 200
    resp = admin.as_("p1").get("/v2/info/stores/detail")
    assert resp.status_int == 403
    assert "stores_info_detail" in resp.text


def test_stores_detail_is_404_with_one_store(api):
    resp = api.get("/v2/info/stores/detail")
    assert resp.status_int == 404
    assert "Multi backend is not supported at this site." in resp.text


def test_create_names_the_stores(admin, api):
    resp = admin.post("/v2/images", {"name": "x"})
    assert resp.headers["OpenStack-image-store-ids"] == "fast,slow"
    assert "OpenStack-image-store-ids" not in api.post("/v2/images", {"name": "x"}).headers


# -- X-Image-Meta-Store ----------------------------------------------------------------------


def test_upload_goes_to_the_store_the_header_names(admin, roots):
    image_id = uploaded(admin, **{"X-Image-Meta-Store": "slow"})
    assert show(admin, image_id)["stores"] == "slow"
    assert blob_of(roots, "slow", image_id).read_bytes() == DATA
    assert not blob_of(roots, "fast", image_id).exists()
    default = uploaded(admin)
    assert show(admin, default)["stores"] == "fast"
    assert invariants.check(wiring.services()) == []


@pytest.mark.parametrize("name", ["nowhere", "", "s" * 5000, "FAST", "fast,slow", "os_glance_x"])
def test_upload_to_an_unknown_store_is_400_and_the_image_stays_queued(admin, roots, name):
    image_id = admin.create(name="x")["id"]
    resp = admin.put_file(image_id, DATA, **{"X-Image-Meta-Store": name})
    assert resp.status_int == 400, resp.text
    assert "Unknown scheme" in resp.text
    assert show(admin, image_id)["status"] == "queued"
    assert not list(roots.glob(f"*/{image_id}"))


def test_stage_ignores_the_header_as_glance_does(admin, roots):
    """Glance stages into its staging store whatever the header says (the import's ``stores``
    choose where the data goes); imgreg stages into the default store."""
    image_id = admin.create(name="staged")["id"]
    resp = admin.request(
        "PUT", f"/v2/images/{image_id}/stage", raw=DATA,
        headers={"Content-Type": "application/octet-stream", "X-Image-Meta-Store": "nowhere"},
    )  # fmt: skip
    assert resp.status_int == 204
    assert blob_of(roots, "fast", image_id).read_bytes() == DATA
    assert show(admin, image_id)["status"] == "uploading"


def test_one_store_ignores_the_header(api, store_dir):
    image_id = uploaded(api, **{"X-Image-Meta-Store": "nowhere"})
    assert show(api, image_id)["status"] == "active"


# -- DELETE /v2/stores/{store_id}/{image_id} -------------------------------------------------


def test_delete_from_store_removes_that_copy_only(admin, roots):
    image_id = in_both(admin, roots)
    resp = admin.delete(f"/v2/stores/slow/{image_id}")
    assert resp.status_int == 204, resp.text
    assert resp.body == b""
    seen = show(admin, image_id)
    assert seen["status"] == "active" and seen["stores"] == "fast"
    assert not blob_of(roots, "slow", image_id).exists()
    assert admin.get(f"/v2/images/{image_id}/file").body == DATA
    assert invariants.check(wiring.services()) == []
    # the last copy stays: 403; a store without a copy: 404
    resp = admin.delete(f"/v2/stores/fast/{image_id}")
    assert resp.status_int == 403
    assert "only store containing it" in resp.text
    assert admin.delete(f"/v2/stores/slow/{image_id}").status_int in (403, 404)
    assert blob_of(roots, "fast", image_id).exists()


def test_delete_from_store_refusals(admin, roots):
    image_id = in_both(admin, roots)
    resp = admin.delete(f"/v2/stores/nowhere/{image_id}")
    assert resp.status_int == 409
    assert "The selected store nowhere is not available on this node." in resp.text
    assert admin.delete(f"/v2/stores/slow/{UNKNOWN_ID}").status_int == 404
    assert admin.delete("/v2/stores/slow/not-a-uuid").status_int == 404
    owner = admin.as_(OWNER)
    assert owner.delete(f"/v2/stores/slow/{image_id}").status_int in (403, 404)
    # the owner, a member: delete_image_location is for admins
    mine = owner.create(name="mine")["id"]
    assert owner.put_file(mine, DATA).status_int == 204
    resp = owner.delete(f"/v2/stores/fast/{mine}")
    assert resp.status_int == 403
    assert "delete_image_location" in resp.text
    # not active: 409
    assert admin.post(f"/v2/images/{image_id}/actions/deactivate").status_int == 204
    resp = admin.delete(f"/v2/stores/slow/{image_id}")
    assert resp.status_int == 409
    assert "status is not 'active'" in resp.text
    queued = admin.create(name="q")["id"]
    assert admin.delete(f"/v2/stores/slow/{queued}").status_int == 409
    assert len(show(admin, image_id)["stores"].split(",")) == 2
    assert blob_of(roots, "slow", image_id).exists()


def test_delete_from_store_is_404_with_one_store(api):
    image_id = uploaded(api)
    resp = api.delete(f"/v2/stores/file/{image_id}")
    assert resp.status_int == 404
    assert "Multi backend is not supported" in resp.text


def test_delete_from_store_takes_no_body(admin, roots):
    image_id = in_both(admin, roots)
    resp = admin.request("DELETE", f"/v2/stores/slow/{image_id}", raw=b"x")
    assert resp.status_int == 400
    assert blob_of(roots, "slow", image_id).exists()


# -- downloads -------------------------------------------------------------------------------


def test_download_reads_the_heaviest_store_first_and_falls_back(admin, roots):
    image_id = in_both(admin, roots)
    slow = blob_of(roots, "slow", image_id)
    slow.write_bytes(b"X" * len(DATA))  # slow (weight 50) is read first: its range shows it
    resp = admin.get(f"/v2/images/{image_id}/file", headers={"Range": "bytes=0-4"})
    assert resp.status_int == 206 and resp.body == b"XXXXX"
    # the whole of it fails its checksum: the next copy serves
    resp = admin.get(f"/v2/images/{image_id}/file")
    assert resp.status_int == 200
    assert hashlib.md5(resp.body).hexdigest() == hashlib.md5(DATA).hexdigest()
    slow.unlink()  # gone: the next copy serves
    assert admin.get(f"/v2/images/{image_id}/file").body == DATA
    blob_of(roots, "fast", image_id).unlink()  # no copy left: the store's answer, no 500
    assert admin.get(f"/v2/images/{image_id}/file").status_int in (404, 503)


def test_prefer_reorders_the_copies(admin, roots):
    image_id = in_both(admin, roots)
    blob_of(roots, "slow", image_id).write_bytes(b"X" * len(DATA))
    resp = admin.get(f"/v2/images/{image_id}/file?prefer=fast")
    assert resp.status_int == 200 and resp.body == DATA
    resp = admin.get(f"/v2/images/{image_id}/file?prefer=fast,slow", headers={"Range": "bytes=0-4"})
    assert resp.status_int == 206 and resp.body == DATA[:5]


@pytest.mark.parametrize(
    "query", ["prefer=nowhere", "prefer=fast,nowhere", "prefer=" + "s" * 5000, "prefer=%ED%A0%80"]
)
def test_prefer_an_unknown_store_is_400(admin, roots, query):
    image_id = uploaded(admin)
    resp = admin.get(f"/v2/images/{image_id}/file?{query}")
    assert resp.status_int == 400, resp.text


def test_prefer_with_one_store_is_400(api):
    image_id = uploaded(api)
    resp = api.get(f"/v2/images/{image_id}/file?prefer=file")
    assert resp.status_int == 400
    assert "multiple backends are not enabled" in resp.text
    assert api.get(f"/v2/images/{image_id}/file?prefer=").body == DATA


def test_prefer_needs_download_from_store(admin, roots, tmp_path):
    image_id = uploaded(admin)
    policy = tmp_path / "policy.yaml"
    policy.write_text('"download_from_store": "!"\n')
    conf = wiring.services().conf
    conf.set_override("policy_file", str(policy), group="oslo_policy")
    wiring.reset()
    client = Client(wsgi.load_app(conf))
    assert client.get(f"/v2/images/{image_id}/file?prefer=fast").status_int == 403
    assert client.get(f"/v2/images/{image_id}/file").status_int == 200
