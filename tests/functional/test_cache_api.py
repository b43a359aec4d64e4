"""``/v2/cache`` (API 2.14-2.18): only with ``image_cache_dir``; admin-only; hostile input."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

import pytest

from imgreg.services import wiring
from tests.support.client import UNKNOWN_ID, client_with, new_image

# tools/test's first pass only: the cache keeps its own SQLite catalog beside its files, whatever
# the database
pytestmark = [
    pytest.mark.first_pass,
    pytest.mark.usefixtures("sync_cache_fills"),  # the hit is there when a request ends
]

DATA = b"cached bytes " * 1000
CLEAR = "x-image-cache-clear-target"


@pytest.fixture
def api(conf, tmp_path: Path):
    return client_with(conf, image_cache_dir=str(tmp_path / "cache"))


def cached(client, image_id: str) -> None:
    resp = client.get(f"/v2/images/{image_id}/file")
    assert resp.body == DATA


def listing(client) -> dict:
    resp = client.get("/v2/cache")
    assert resp.status_int == 200, resp.text
    assert resp.content_type == "application/json"
    return resp.json


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/cache"),
        ("DELETE", "/v2/cache"),
        ("PUT", f"/v2/cache/{UNKNOWN_ID}"),
        ("DELETE", f"/v2/cache/{UNKNOWN_ID}"),
        ("POST", "/v2/cache/clean"),
        ("POST", "/v2/cache/prune"),
        ("GET", f"/v2/cache/nodes/{UNKNOWN_ID}"),
    ],
)
def test_without_a_cache_dir_the_cache_api_is_404(conf, tmp_path, method, path):
    client = client_with(conf)
    assert client.request(method, path).status_int == 404
    assert not (tmp_path / "cache").exists()


def test_an_empty_cache(api):
    assert listing(api) == {"cached_images": [], "queued_images": []}


def test_list_shows_cached_copies_and_queued_ids(api):
    image = new_image(api, DATA)
    queued = new_image(api, b"later")
    cached(api, image["id"])
    cached(api, image["id"])  # a hit
    assert api.request("PUT", f"/v2/cache/{queued['id']}").status_int == 202
    doc = listing(api)
    [entry] = doc["cached_images"]
    assert entry["image_id"] == image["id"]
    assert entry["hits"] == 1
    assert entry["size"] == len(DATA)
    assert isinstance(entry["last_accessed"], float)
    assert entry["last_modified"] <= entry["last_accessed"]
    assert doc["queued_images"] == [queued["id"]]


def test_queueing_needs_an_active_image_that_exists(api):
    queued = api.create(name="no data")
    resp = api.request("PUT", f"/v2/cache/{queued['id']}")
    assert resp.status_int == 400
    assert "not active" in resp.text
    assert api.request("PUT", f"/v2/cache/{UNKNOWN_ID}").status_int == 404
    deactivated = new_image(api, DATA)
    api.post(f"/v2/images/{deactivated['id']}/actions/deactivate")
    assert api.request("PUT", f"/v2/cache/{deactivated['id']}").status_int == 400
    assert listing(api)["queued_images"] == []


def test_queueing_twice_queues_once(api):
    image = new_image(api, DATA)
    for _ in range(2):
        assert api.request("PUT", f"/v2/cache/{image['id'].upper()}").status_int == 202
    assert listing(api)["queued_images"] == [image["id"]]


def test_delete_one_drops_its_copy_and_its_queue_entry(api, tmp_path):
    image, other = new_image(api, DATA), new_image(api, DATA)
    cached(api, image["id"])
    cached(api, other["id"])
    api.request("PUT", f"/v2/cache/{image['id']}")  # (already cached: queued anyway)
    resp = api.delete(f"/v2/cache/{image['id']}")
    assert resp.status_int == 204 and resp.body == b""
    doc = listing(api)
    assert [e["image_id"] for e in doc["cached_images"]] == [other["id"]]
    assert doc["queued_images"] == []
    assert not (tmp_path / "cache" / image["id"]).exists()
    assert api.delete(f"/v2/cache/{image['id']}").status_int == 204  # nothing there: fine


@pytest.mark.parametrize(
    ("target", "cache_left", "queue_left"),
    [("cache", False, True), ("queue", True, False), ("", False, False), (None, False, False),
     ("CACHE", False, True), (" queue ", True, False)],
)  # fmt: skip
def test_clear_by_target(api, target, cache_left, queue_left):
    image, queued = new_image(api, DATA), new_image(api, DATA)
    cached(api, image["id"])
    api.request("PUT", f"/v2/cache/{queued['id']}")
    headers = {} if target is None else {CLEAR: target}
    assert api.delete("/v2/cache", headers=headers).status_int == 204
    doc = listing(api)
    assert bool(doc["cached_images"]) is cache_left
    assert bool(doc["queued_images"]) is queue_left


@pytest.mark.parametrize("value", ["both", "all", "cache,queue", "x" * 5000, "cach\u00e9"])
def test_clear_with_a_bad_target_is_400_and_clears_nothing(api, value):
    image = new_image(api, DATA)
    cached(api, image["id"])
    resp = api.delete("/v2/cache", headers={CLEAR: value.encode("utf-8").decode("latin-1")})
    assert resp.status_int == 400
    assert "x-image-cache-clear-target" in resp.text
    assert len(listing(api)["cached_images"]) == 1


def test_prune_answers_what_it_removed(conf, tmp_path):
    client = client_with(
        conf, image_cache_dir=str(tmp_path / "cache"), image_cache_max_size=len(DATA)
    )
    old, new = new_image(client, DATA), new_image(client, DATA)
    cached(client, old["id"])
    cached(client, new["id"])
    resp = client.post("/v2/cache/prune")
    assert resp.status_int == 200
    assert resp.json == {"total_files_pruned": 1, "total_bytes_pruned": len(DATA)}
    assert [e["image_id"] for e in listing(client)["cached_images"]] == [new["id"]]
    assert client.post("/v2/cache/prune").json == {
        "total_files_pruned": 0,
        "total_bytes_pruned": 0,
    }


def test_clean_removes_stalled_fills(conf, tmp_path):
    client = client_with(conf, image_cache_dir=str(tmp_path / "cache"), image_cache_stall_time=0)
    (tmp_path / "cache" / "incomplete" / UNKNOWN_ID).write_bytes(b"left by a dead worker")
    resp = client.post("/v2/cache/clean")
    assert resp.status_int == 200
    assert resp.json == {"total_files_cleaned": 1}
    assert list((tmp_path / "cache" / "incomplete").iterdir()) == []


def test_cached_nodes_is_409_without_a_central_cache(api):
    image = new_image(api, DATA)
    resp = api.get(f"/v2/cache/nodes/{image['id']}", headers={"Accept": "application/json"})
    assert resp.status_int == 409
    assert resp.json["code"] == "409 Conflict"
    assert resp.json["title"] == "Conflict"
    assert "centralized" in resp.json["message"]


def test_errors_are_glance_style(api):
    resp = api.request("PUT", f"/v2/cache/{UNKNOWN_ID}", headers={"Accept": "application/json"})
    assert resp.json == {
        "message": f"No image found with ID {UNKNOWN_ID}",
        "code": "404 Not Found",
        "title": "Not Found",
    }
    resp = api.as_("p1").get("/v2/cache", headers={"Accept": "application/json"})
    assert resp.json["code"] == "403 Forbidden"
    assert "cache_list" in resp.json["message"]


ADMIN_CALLS = [
    ("GET", "/v2/cache"),
    ("DELETE", "/v2/cache"),
    ("PUT", "/v2/cache/{id}"),
    ("DELETE", "/v2/cache/{id}"),
    ("POST", "/v2/cache/clean"),
    ("POST", "/v2/cache/prune"),
    ("GET", "/v2/cache/nodes/{id}"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
@pytest.mark.parametrize("roles", ["member,reader", "reader", "service"])
def test_non_admins_get_403_and_change_nothing(api, method, path, roles):
    image = new_image(api.as_("p1"), DATA)
    cached(api, image["id"])
    resp = api.as_("p1", roles=roles).request(method, path.format(id=image["id"]))
    assert resp.status_int == 403, resp.text
    assert wiring.services().cache.cached(image["id"])


@pytest.mark.parametrize(
    "bad",
    ["not-a-uuid", "..", "%2e%2e%2fcache.sqlite", "0" * 300, "%00", "%C3%A9", UNKNOWN_ID + "x"],
)
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_bad_image_ids_are_404_never_500(api, bad, method):
    resp = api.request(method, f"/v2/cache/{bad}")
    assert resp.status_int in (404, 405), resp.text
    assert api.get(f"/v2/cache/nodes/{bad}").status_int in (404, 409)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("POST", "/v2/cache", "GET, DELETE"), ("PATCH", "/v2/cache/{id}", "PUT, DELETE"),
     ("GET", "/v2/cache/prune", "POST"), ("PUT", "/v2/cache/clean", "POST")],
)  # fmt: skip
def test_other_methods_are_405(api, method, path, allowed):
    resp = api.request(method, path.format(id=UNKNOWN_ID))
    assert resp.status_int == 405
    assert resp.headers["Allow"] == allowed


def test_a_body_is_refused(api):
    resp = api.request("DELETE", "/v2/cache", raw=b'{"x": 1}')
    assert resp.status_int == 400


@pytest.mark.parametrize("flavor", ["caching", "cachemanagement"])
def test_glance_cache_flavors_serve_the_same_pipeline(conf, tmp_path, flavor):
    client = client_with(
        conf, image_cache_dir=str(tmp_path / "cache"), **{"paste_deploy.flavor": flavor}
    )
    assert listing(client) == {"cached_images": [], "queued_images": []}
    assert client.get("/healthcheck").status_int == 200


def test_keystone_cache_flavors_are_the_keystone_pipeline():
    paste = configparser.ConfigParser()
    paste.read(Path(__file__).resolve().parents[2] / "etc" / "imgreg-api-paste.ini")
    for flavor in ("keystone+caching", "keystone+cachemanagement"):
        assert dict(paste[f"composite:imgreg-api-{flavor}"]) == dict(
            paste["composite:imgreg-api-keystone"]
        )
    for flavor in ("caching", "cachemanagement"):
        assert dict(paste[f"composite:imgreg-api-{flavor}"]) == dict(paste["composite:imgreg-api"])


def test_a_vanished_cache_dir_is_503_not_500(api, tmp_path):
    shutil.rmtree(tmp_path / "cache")
    calls = [
        ("GET", "/v2/cache"),
        ("DELETE", "/v2/cache"),
        ("DELETE", f"/v2/cache/{UNKNOWN_ID}"),
        ("POST", "/v2/cache/prune"),
    ]
    for method, path in calls:
        assert api.request(method, path).status_int == 503, (method, path)
