"""Tags (PUT/DELETE /tags/{tag}) and deactivate/reactivate actions."""

from __future__ import annotations


def test_tags_add_idempotently_and_delete(api, notifications):
    image = api.create(name="t")
    url = f"/v2/images/{image['id']}/tags"
    assert api.request("PUT", f"{url}/blue").status_int == 204
    assert api.request("PUT", f"{url}/blue").status_int == 204
    assert api.request("PUT", f"{url}/green").status_int == 204
    assert sorted(api.get(f"/v2/images/{image['id']}").json["tags"]) == ["blue", "green"]
    assert notifications[-1]["event_type"] == "image.update"
    assert api.delete(f"{url}/blue").status_int == 204
    assert api.get(f"/v2/images/{image['id']}").json["tags"] == ["green"]
    assert api.delete(f"{url}/blue").status_int == 404


def test_tag_errors(api, conf):
    image = api.create(name="t")
    url = f"/v2/images/{image['id']}/tags"
    assert api.request("PUT", f"{url}/{'x' * 256}").status_int == 400
    assert api.request("PUT", f"{url}/x", raw=b"body").status_int == 400
    assert api.request("POST", f"{url}/x").headers["Allow"] == "PUT, DELETE"
    conf.set_override("image_tag_quota", 1)
    assert api.request("PUT", f"{url}/one").status_int == 204
    assert api.request("PUT", f"{url}/two").status_int == 413
    stranger = api.as_("p2")
    private = api.create(name="p", visibility="private", owner="p1")
    assert stranger.request("PUT", f"/v2/images/{private['id']}/tags/s").status_int == 404
    public = api.create(name="p", visibility="public", owner="p1")
    assert stranger.request("PUT", f"/v2/images/{public['id']}/tags/s").status_int == 403


def test_deactivate_and_reactivate(api):
    owner = api.as_("p1")
    image = owner.create(name="d", visibility="shared")
    path = f"/v2/images/{image['id']}/actions"
    resp = owner.post(f"{path}/deactivate")
    assert resp.status_int == 403 and "status 'queued'" in resp.text
    data = b"d" * 100
    assert owner.put_file(image["id"], data).status_int == 204
    assert owner.post(f"{path}/deactivate").status_int == 204
    assert owner.post(f"{path}/deactivate").status_int == 204  # idempotent
    assert owner.get(f"/v2/images/{image['id']}").json["status"] == "deactivated"
    assert owner.get(f"/v2/images/{image['id']}/file").status_int == 403
    assert api.get(f"/v2/images/{image['id']}/file").body == data  # admin still may
    listed = owner.get("/v2/images?status=deactivated").json["images"]
    assert [i["id"] for i in listed] == [image["id"]]
    assert owner.post(f"{path}/reactivate").status_int == 204
    assert owner.post(f"{path}/reactivate").status_int == 204
    assert owner.get(f"/v2/images/{image['id']}/file").body == data


def test_actions_need_the_owner_project_member(api):
    image = api.create(name="d", visibility="public", owner="p1")
    assert api.put_file(image["id"], b"x").status_int == 204
    path = f"/v2/images/{image['id']}/actions/deactivate"
    assert api.as_("p2").post(path).status_int == 403
    assert api.as_("p1", roles="reader").post(path).status_int == 403
    assert api.get(f"/v2/images/{image['id']}").json["status"] == "active"
    assert api.as_("p1").post(path, raw=b"{}").status_int == 400
    assert api.as_("p1").get(path).headers["Allow"] == "POST"


def test_a_reader_may_not_add_a_tag_the_image_already_has(api, notifications):
    """Glance checks ``modify_image`` before it adds a tag, whether the image has it or not."""
    image = api.as_("p1").create(name="t", tags=["t1"])
    reader = api.as_("p1", roles="reader")
    url = f"/v2/images/{image['id']}/tags"
    notifications.clear()
    assert reader.request("PUT", f"{url}/t1").status_int == 403
    assert reader.request("PUT", f"{url}/t2").status_int == 403
    assert reader.delete(f"{url}/t1").status_int == 403
    assert api.get(f"/v2/images/{image['id']}").json["tags"] == ["t1"]
    assert notifications == []
