"""``ETag`` on ``GET /v2/images/{id}`` (the record's revision), ``If-None-Match`` (304), and
``If-Match`` on PATCH, DELETE and the actions (412 on a stale ETag, nothing changed)."""

from __future__ import annotations

import json
import threading

import pytest

from imgreg.db.repo import SqlImageRepo

PATCH = "application/openstack-images-v2.1-json-patch"


def patch(client, image_id, ops, **headers):
    return client.request(
        "PATCH",
        f"/v2/images/{image_id}",
        raw=json.dumps(ops).encode(),
        headers={"Content-Type": PATCH, **headers},
    )


def rename(client, image_id, name, **headers):
    return patch(client, image_id, [{"op": "replace", "path": "/name", "value": name}], **headers)


def etag_of(client, image_id):
    resp = client.get(f"/v2/images/{image_id}")
    assert resp.status_int == 200
    return resp.headers["ETag"]


def test_get_has_a_strong_etag_that_every_change_changes(api):
    image = api.create(name="a")
    path = f"/v2/images/{image['id']}"
    first = etag_of(api, image["id"])
    assert first.startswith('"') and first.endswith('"') and not first.startswith("W/")
    assert etag_of(api, image["id"]) == first  # reading changes nothing
    seen = {first}
    for change in (
        lambda: rename(api, image["id"], "b"),
        lambda: api.request("PUT", f"{path}/tags/t"),
        lambda: api.put_file(image["id"], b"data"),
        lambda: api.post(f"{path}/actions/deactivate"),
        lambda: api.post(f"{path}/actions/reactivate"),
        lambda: rename(api, image["id"], "a"),  # back to an earlier name: still a new ETag
    ):
        assert change().status_int in (200, 204)
        etag = etag_of(api, image["id"])
        assert etag not in seen
        seen.add(etag)


def test_patch_answers_with_the_new_etag(api):
    image = api.create(name="a")
    before = etag_of(api, image["id"])
    resp = rename(api, image["id"], "b")
    assert resp.status_int == 200
    assert resp.headers["ETag"] == etag_of(api, image["id"]) != before


def test_if_none_match_gives_304_while_unchanged(api):
    image = api.create(name="a")
    path = f"/v2/images/{image['id']}"
    etag = etag_of(api, image["id"])
    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        resp = api.get(path, headers={"If-None-Match": header})
        assert resp.status_int == 304, header
        assert resp.body == b""
        assert resp.headers["ETag"] == etag
    rename(api, image["id"], "b")
    resp = api.get(path, headers={"If-None-Match": etag})
    assert resp.status_int == 200 and resp.json["name"] == "b"


def test_if_none_match_does_not_reveal_a_hidden_image(api):
    image = api.as_("p1").create(name="a", visibility="private")
    for header in ("*", etag_of(api, image["id"])):
        resp = api.as_("p2").get(f"/v2/images/{image['id']}", headers={"If-None-Match": header})
        assert resp.status_int == 404


@pytest.mark.parametrize("stale", ["stale", "weak"])
def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(api, notifications, stale):
    image = api.create(name="a")
    etag = etag_of(api, image["id"])
    if stale == "stale":
        assert rename(api, image["id"], "b").status_int == 200
        header = etag
    else:
        header = f"W/{etag}"  # If-Match compares strongly: a weak tag never matches
    before = api.get(f"/v2/images/{image['id']}").json
    notifications.clear()
    resp = rename(api, image["id"], "c", **{"If-Match": header, "Accept": "application/json"})
    assert resp.status_int == 412
    assert resp.json["code"] == "412 Precondition Failed"
    assert "changed" in resp.json["message"]
    assert api.get(f"/v2/images/{image['id']}").json == before
    assert [n["event_type"] for n in notifications] == []


def test_patch_with_the_current_etag_or_a_star_succeeds(api):
    image = api.create(name="a")
    etag = etag_of(api, image["id"])
    resp = rename(api, image["id"], "b", **{"If-Match": f'"0", {etag}'})
    assert resp.status_int == 200 and resp.json["name"] == "b"
    assert rename(api, image["id"], "c", **{"If-Match": "*"}).status_int == 200
    assert rename(api, image["id"], "d", **{"If-Match": etag}).status_int == 412


def test_an_empty_patch_checks_if_match_too(api):
    image = api.create(name="a")
    etag = etag_of(api, image["id"])
    assert patch(api, image["id"], [], **{"If-Match": etag}).status_int == 200
    rename(api, image["id"], "b")
    assert patch(api, image["id"], [], **{"If-Match": etag}).status_int == 412


def test_a_forbidden_change_is_403_even_with_a_stale_etag(api):
    """RFC 9110: preconditions are evaluated only when the request would otherwise succeed."""
    image = api.create(name="a", visibility="public", owner="p1")
    resp = rename(api.as_("p2"), image["id"], "x", **{"If-Match": '"999"'})
    assert resp.status_int == 403


def test_delete_with_if_match(api, store_dir):
    image = api.create(name="a")
    assert api.put_file(image["id"], b"data").status_int == 204
    path = f"/v2/images/{image['id']}"
    etag = etag_of(api, image["id"])
    rename(api, image["id"], "b")
    assert api.delete(path, headers={"If-Match": etag}).status_int == 412
    assert api.get(path).status_int == 200
    assert api.get(f"{path}/file").body == b"data"  # the data is kept too
    assert api.delete(path, headers={"If-Match": etag_of(api, image["id"])}).status_int == 204
    assert api.get(path).status_int == 404
    assert api.delete(path, headers={"If-Match": "*"}).status_int == 404


def test_actions_with_if_match(api):
    image = api.create(name="a")
    assert api.put_file(image["id"], b"data").status_int == 204
    path = f"/v2/images/{image['id']}/actions"
    etag = etag_of(api, image["id"])
    rename(api, image["id"], "b")
    assert api.post(f"{path}/deactivate", headers={"If-Match": etag}).status_int == 412
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "active"
    etag = etag_of(api, image["id"])
    assert api.post(f"{path}/deactivate", headers={"If-Match": etag}).status_int == 204
    # a no-op (already deactivated) still honours the precondition
    assert api.post(f"{path}/deactivate", headers={"If-Match": etag}).status_int == 412
    current = etag_of(api, image["id"])
    assert api.post(f"{path}/reactivate", headers={"If-Match": etag}).status_int == 412
    assert api.post(f"{path}/reactivate", headers={"If-Match": current}).status_int == 204
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "active"


def test_head_is_get_without_a_body(api):
    image = api.create(name="a")
    path = f"/v2/images/{image['id']}"
    got = api.get(path)
    head = api.request("HEAD", path)
    assert head.status_int == 200
    assert head.body == b""
    assert head.headers["ETag"] == got.headers["ETag"]
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert int(head.headers["Content-Length"]) == len(got.body)
    etag = got.headers["ETag"]
    assert api.request("HEAD", path, headers={"If-None-Match": etag}).status_int == 304


def test_head_hides_what_get_hides(api):
    private = api.as_("p1").create(name="a", visibility="private")
    path = f"/v2/images/{private['id']}"
    assert api.as_("p2").request("HEAD", path).status_int == 404
    assert api.as_("p2").get(path).status_int == 404
    assert api.as_("p1").request("HEAD", path).status_int == 200


def test_racing_patches_with_the_same_etag_one_wins(api, monkeypatch):
    """Both load the image before either writes (a barrier after the load): the database's
    guard, not the check of what was loaded, picks the one that wins."""
    image = api.create(name="a")
    etag = etag_of(api, image["id"])
    barrier = threading.Barrier(2, timeout=30)
    real_get = SqlImageRepo.get

    def get_then_wait(self, image_id):
        found = real_get(self, image_id)
        barrier.wait()
        return found

    monkeypatch.setattr(SqlImageRepo, "get", get_then_wait)
    results: dict[str, int] = {}

    def one(name):
        results[name] = rename(api, image["id"], name, **{"If-Match": etag}).status_int

    threads = [threading.Thread(target=one, args=(name,)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    monkeypatch.undo()
    assert sorted(results.values()) == [200, 412]
    winner = next(name for name, status in results.items() if status == 200)
    assert api.get(f"/v2/images/{image['id']}").json["name"] == winner


def test_racing_patches_without_if_match_both_succeed_as_in_glance(api, monkeypatch):
    image = api.create(name="a")
    barrier = threading.Barrier(2, timeout=30)
    real_get = SqlImageRepo.get

    def get_then_wait(self, image_id):
        found = real_get(self, image_id)
        barrier.wait()
        return found

    monkeypatch.setattr(SqlImageRepo, "get", get_then_wait)
    results = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(rename(api, image["id"], n).status_int))
        for n in ("x", "y")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [200, 200]


def test_tags_with_if_match(api):
    image = api.create(name="a")
    path = f"/v2/images/{image['id']}/tags"
    etag = etag_of(api, image["id"])
    assert api.request("PUT", f"{path}/t", headers={"If-Match": etag}).status_int == 204
    assert api.request("PUT", f"{path}/u", headers={"If-Match": etag}).status_int == 412
    assert api.delete(f"{path}/t", headers={"If-Match": etag}).status_int == 412
    assert api.get(f"/v2/images/{image['id']}").json["tags"] == ["t"]
    current = etag_of(api, image["id"])
    assert api.delete(f"{path}/t", headers={"If-Match": current}).status_int == 204
