"""Image members (sharing) through the whole app: glance-api.md §1.7 and §2.9.

Personas: ``owner`` (project p1, member role), ``member`` (p2, the project the image is shared
with), ``stranger`` (p3), ``admin`` (no identity headers: the noauth pipeline's administrator).
"""

from __future__ import annotations

import datetime as dt
import re

import jsonschema
import pytest
from sqlalchemy import func, select, update

from imgreg.db.models import MemberRow
from imgreg.services import wiring
from tests.support.client import UNKNOWN_ID, listed_ids

MEMBER_KEYS = {"image_id", "member_id", "status", "created_at", "updated_at", "schema"}
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


@pytest.fixture
def owner(api):
    return api.as_("p1")


@pytest.fixture
def member(api):
    return api.as_("p2")


@pytest.fixture
def stranger(api):
    return api.as_("p3")


@pytest.fixture
def image(owner):
    return owner.create(name="shared", visibility="shared")


def members_url(image_id, member_id=None):
    url = f"/v2/images/{image_id}/members"
    return f"{url}/{member_id}" if member_id is not None else url


def add(client, image_id, member_id):
    return client.post(members_url(image_id), {"member": member_id})


def put_status(client, image_id, member_id, status):
    return client.request("PUT", members_url(image_id, member_id), body={"status": status})


def listed_members(client, image_id):
    resp = client.get(members_url(image_id))
    assert resp.status_int == 200, resp.text
    assert resp.json["schema"] == "/v2/schemas/members"
    return sorted(m["member_id"] for m in resp.json["members"])


# -- POST /members ---------------------------------------------------------------------------


def test_owner_adds_a_member_with_200_and_the_member_object(owner, image):
    resp = add(owner, image["id"], "p2")
    assert resp.status_int == 200, resp.text
    body = resp.json
    assert set(body) == MEMBER_KEYS
    assert (body["image_id"], body["member_id"], body["status"]) == (image["id"], "p2", "pending")
    assert body["schema"] == "/v2/schemas/member"
    assert body["created_at"] == body["updated_at"]
    assert resp.content_type == "application/json"
    assert re.match(ISO, body["created_at"])


@pytest.mark.parametrize(
    "body",
    [{}, {"member": ""}, {"member": None}, {"member": 5}, {"member": "x" * 256}, {"other": "p2"},
     ["p2"], None],
)  # fmt: skip
def test_add_without_a_usable_member_is_400(owner, image, body):
    raw = None if body is not None else b""
    resp = owner.request("POST", members_url(image["id"]), body=body, raw=raw)
    assert resp.status_int == 400, resp.text
    assert listed_members(owner, image["id"]) == []


def test_add_with_malformed_json_is_400(owner, image):
    resp = owner.request("POST", members_url(image["id"]), raw=b"{nope")
    assert resp.status_int == 400
    assert "Malformed JSON" in resp.text


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
def test_only_shared_images_have_members(api, owner, visibility):
    image = api.create(name="x", visibility=visibility, owner="p1")
    resp = add(owner, image["id"], "p2")
    assert resp.status_int == 403
    assert "Only shared images have members." in resp.text
    assert owner.get(members_url(image["id"])).status_int == 403
    assert add(api, image["id"], "p2").status_int == 403  # not even an admin


def test_a_member_cannot_add_members(owner, member, image):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = add(member, image["id"], "p4")
    assert resp.status_int == 403
    assert listed_members(owner, image["id"]) == ["p2"]


def test_a_reader_of_the_owner_project_cannot_add_members(api, image):
    assert add(api.as_("p1", roles="reader"), image["id"], "p2").status_int == 403


def test_a_stranger_gets_404_for_an_invisible_image(stranger, image):
    assert add(stranger, image["id"], "p3").status_int == 404
    assert add(stranger, UNKNOWN_ID, "p3").status_int == 404
    assert add(stranger, "not-a-uuid", "p3").status_int == 404


def test_a_stranger_adding_to_a_visible_image_gets_403(api, stranger):
    image = api.create(name="x", visibility="shared", owner=None)  # visible to all
    assert add(stranger, image["id"], "p3").status_int == 403


def test_adding_twice_is_409(owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = add(owner, image["id"], "p2")
    assert resp.status_int == 409
    assert "Member p2 is duplicated" in resp.text


def test_member_quota_is_413(owner, image, conf):
    conf.set_override("image_member_quota", 2)
    assert add(owner, image["id"], "p2").status_int == 200
    assert add(owner, image["id"], "p3").status_int == 200
    resp = add(owner, image["id"], "p4")
    assert resp.status_int == 413
    assert "Attempted: 3, Maximum: 2" in resp.text
    assert owner.delete(members_url(image["id"], "p3")).status_int == 204
    assert add(owner, image["id"], "p4").status_int == 200  # deleted rows do not count


def test_member_quota_zero_forbids_sharing_and_negative_is_unlimited(owner, image, conf):
    conf.set_override("image_member_quota", 0)
    assert add(owner, image["id"], "p2").status_int == 413
    conf.set_override("image_member_quota", -1)
    for n in range(5):
        assert add(owner, image["id"], f"q{n}").status_int == 200


def test_readding_a_deleted_member_brings_its_row_back_pending(owner, member, image):
    assert add(owner, image["id"], "p2").status_int == 200
    # Age the row, so that keeping its created_at is visible.
    with wiring.services().db.write() as session:
        session.execute(update(MemberRow).values(created_at=dt.datetime(2020, 1, 2, 3, 4, 5)))
    assert put_status(member, image["id"], "p2", "accepted").status_int == 200
    assert owner.delete(members_url(image["id"], "p2")).status_int == 204
    assert owner.get(members_url(image["id"], "p2")).status_int == 404
    again = add(owner, image["id"], "p2")
    assert again.status_int == 200
    assert again.json["status"] == "pending"
    assert again.json["created_at"] == "2020-01-02T03:04:05Z"
    assert owner.get(members_url(image["id"], "p2")).json == again.json
    assert listed_members(owner, image["id"]) == ["p2"]
    with wiring.services().db.read() as session:
        assert session.scalar(select(func.count()).select_from(MemberRow)) == 1


def test_admin_adds_members_to_any_shared_image(api, owner, image):
    assert add(api, image["id"], "p2").status_int == 200
    assert listed_members(owner, image["id"]) == ["p2"]


def test_members_of_a_queued_image_are_allowed(owner, image):
    assert image["status"] == "queued"
    assert add(owner, image["id"], "p2").status_int == 200


# -- GET /members and /members/{id} ----------------------------------------------------------


def test_owner_sees_all_members_a_member_only_itself(api, owner, member, image):
    for project in ("p2", "p3", "p4"):
        assert add(owner, image["id"], project).status_int == 200
    assert listed_members(owner, image["id"]) == ["p2", "p3", "p4"]
    assert listed_members(api.as_("p1", roles="reader"), image["id"]) == ["p2", "p3", "p4"]
    assert listed_members(member, image["id"]) == ["p2"]
    assert listed_members(api, image["id"]) == ["p2", "p3", "p4"]
    resp = member.get(members_url(image["id"]))
    assert set(resp.json["members"][0]) == MEMBER_KEYS


def test_listing_members_of_an_invisible_image_is_404(owner, stranger, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert stranger.get(members_url(image["id"])).status_int == 404
    assert owner.get(members_url(UNKNOWN_ID)).status_int == 404


def test_listing_members_of_a_private_image_is_403(api, owner):
    image = owner.create(name="x", visibility="private")
    resp = owner.get(members_url(image["id"]))
    assert resp.status_int == 403
    assert "Only shared images have members." in resp.text


def test_show_member(owner, member, image):
    added = add(owner, image["id"], "p2").json
    assert add(owner, image["id"], "p3").status_int == 200
    for client in (owner, member):
        resp = client.get(members_url(image["id"], "p2"))
        assert resp.status_int == 200
        assert resp.json == added
    # A member may not see another member's row; it reads as absent.
    assert member.get(members_url(image["id"], "p3")).status_int == 404


def test_show_is_404_for_anything_the_caller_may_not_see(api, owner, stranger, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert owner.get(members_url(image["id"], "nobody")).status_int == 404
    assert stranger.get(members_url(image["id"], "p2")).status_int == 404
    assert owner.get(members_url(UNKNOWN_ID, "p2")).status_int == 404
    private = owner.create(name="x", visibility="private")
    resp = owner.get(members_url(private["id"], "p2"))
    assert resp.status_int == 404  # Glance turns this 403 into 404
    assert "Only shared images have members." in resp.text


def test_get_member_rejects_a_body(owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = owner.request("GET", members_url(image["id"], "p2"), raw=b"{}")
    assert resp.status_int == 400


# -- PUT /members/{id} -----------------------------------------------------------------------


@pytest.mark.parametrize("status", ["accepted", "rejected", "pending"])
def test_the_member_sets_its_status(owner, member, image, notifications, status):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = put_status(member, image["id"], "p2", status)
    assert resp.status_int == 200, resp.text
    assert set(resp.json) == MEMBER_KEYS
    assert resp.json["status"] == status
    assert owner.get(members_url(image["id"], "p2")).json["status"] == status
    assert notifications[-1]["event_type"] == "image.member.update"
    assert notifications[-1]["payload"]["status"] == status


@pytest.mark.parametrize("body", [{"status": "bogus"}, {"status": None}, {"status": ["accepted"]},
                                  {}, {"state": "accepted"}, ["accepted"]])  # fmt: skip
def test_a_bad_status_is_400(owner, member, image, body):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = member.request("PUT", members_url(image["id"], "p2"), body=body)
    assert resp.status_int == 400
    assert owner.get(members_url(image["id"], "p2")).json["status"] == "pending"


def test_the_owner_cannot_change_a_member_status(owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert put_status(owner, image["id"], "p2", "accepted").status_int == 403
    assert owner.get(members_url(image["id"], "p2")).json["status"] == "pending"


def test_a_member_cannot_change_another_members_status(owner, member, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert add(owner, image["id"], "p3").status_int == 200
    assert put_status(member, image["id"], "p3", "accepted").status_int == 404  # unseen row


def test_a_reader_of_the_member_project_cannot_answer(api, owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert (
        put_status(api.as_("p2", roles="reader"), image["id"], "p2", "accepted").status_int == 403
    )


def test_admin_may_change_a_member_status(api, owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert put_status(api, image["id"], "p2", "rejected").json["status"] == "rejected"


def test_update_errors_404(owner, member, stranger, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert put_status(stranger, image["id"], "p2", "accepted").status_int == 404
    assert put_status(member, image["id"], "p9", "accepted").status_int == 404
    assert put_status(member, UNKNOWN_ID, "p2", "accepted").status_int == 404


def test_update_after_the_image_went_private_is_404_for_the_member(owner, member, image):
    assert add(owner, image["id"], "p2").status_int == 200
    patch = [{"op": "replace", "path": "/visibility", "value": "private"}]
    resp = owner.request(
        "PATCH",
        f"/v2/images/{image['id']}",
        body=patch,
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert resp.status_int == 200, resp.text
    assert put_status(member, image["id"], "p2", "accepted").status_int == 404
    assert member.get(f"/v2/images/{image['id']}").status_int == 404
    # The owner still sees the image, but a private image has no members to speak of.
    assert owner.delete(members_url(image["id"], "p2")).status_int == 403
    patch[0]["value"] = "shared"
    owner.request(
        "PATCH",
        f"/v2/images/{image['id']}",
        body=patch,
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
    )
    assert member.get(f"/v2/images/{image['id']}").status_int == 200  # the row was kept


# -- DELETE /members/{id} --------------------------------------------------------------------


def test_owner_deletes_a_member(owner, member, image, notifications):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = owner.delete(members_url(image["id"], "p2"))
    assert resp.status_int == 204
    assert resp.body == b""
    assert listed_members(owner, image["id"]) == []
    assert member.get(f"/v2/images/{image['id']}").status_int == 404
    assert notifications[-1]["event_type"] == "image.member.delete"
    assert owner.delete(members_url(image["id"], "p2")).status_int == 404


def test_a_member_cannot_delete_its_own_membership(owner, member, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert member.delete(members_url(image["id"], "p2")).status_int == 403
    assert listed_members(owner, image["id"]) == ["p2"]


def test_a_reader_of_the_owner_project_cannot_delete(api, owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert api.as_("p1", roles="reader").delete(members_url(image["id"], "p2")).status_int == 403


def test_admin_deletes_a_member(api, owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert api.delete(members_url(image["id"], "p2")).status_int == 204
    assert listed_members(owner, image["id"]) == []


def test_delete_errors_404(owner, stranger, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert stranger.delete(members_url(image["id"], "p2")).status_int == 404
    assert owner.delete(members_url(image["id"], "nobody")).status_int == 404
    assert owner.delete(members_url(UNKNOWN_ID, "p2")).status_int == 404


def test_delete_member_rejects_a_body(owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    resp = owner.request("DELETE", members_url(image["id"], "p2"), raw=b"{}")
    assert resp.status_int == 400
    assert listed_members(owner, image["id"]) == ["p2"]


def test_members_of_a_deleted_image_are_gone(owner, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert owner.delete(f"/v2/images/{image['id']}").status_int == 204
    assert owner.get(members_url(image["id"])).status_int == 404


def test_other_methods_are_405(owner, image):
    resp = owner.request("PATCH", members_url(image["id"]))
    assert resp.status_int == 405
    assert resp.headers["Allow"] == "GET, POST"
    resp = owner.request("POST", members_url(image["id"], "p2"))
    assert resp.status_int == 405
    assert resp.headers["Allow"] == "GET, PUT, DELETE"


# -- visibility effects ----------------------------------------------------------------------


def test_a_member_reads_the_image_from_pending_on(owner, member, stranger, image):
    assert member.get(f"/v2/images/{image['id']}").status_int == 404
    assert add(owner, image["id"], "p2").status_int == 200
    for status in ("pending", "accepted", "rejected"):
        assert put_status(member, image["id"], "p2", status).status_int == 200
        assert member.get(f"/v2/images/{image['id']}").status_int == 200
    assert stranger.get(f"/v2/images/{image['id']}").status_int == 404


def test_only_accepted_shares_are_in_the_default_list(owner, member, image):
    assert add(owner, image["id"], "p2").status_int == 200
    assert image["id"] not in listed_ids(member)
    assert put_status(member, image["id"], "p2", "accepted").status_int == 200
    assert listed_ids(member) == [image["id"]]
    assert put_status(member, image["id"], "p2", "rejected").status_int == 200
    assert image["id"] not in listed_ids(member)
    assert listed_ids(owner) == [image["id"]]


def test_a_member_downloads_a_shared_image(owner, member, image):
    assert owner.put_file(image["id"], b"shared data").status_int == 204
    assert member.get(f"/v2/images/{image['id']}/file").status_int == 404
    assert add(owner, image["id"], "p2").status_int == 200
    assert member.get(f"/v2/images/{image['id']}/file").body == b"shared data"


# -- notifications ---------------------------------------------------------------------------


def test_member_notifications(owner, member, image, notifications):
    del notifications[:]
    added = add(owner, image["id"], "p2").json
    assert put_status(member, image["id"], "p2", "accepted").status_int == 200
    assert owner.delete(members_url(image["id"], "p2")).status_int == 204
    types = [(n["event_type"], n["priority"]) for n in notifications]
    assert types == [
        ("image.member.create", "INFO"),
        ("image.member.update", "INFO"),
        ("image.member.delete", "INFO"),
    ]
    create, update, delete = (n["payload"] for n in notifications)
    assert create == {
        "image_id": image["id"],
        "member_id": "p2",
        "status": "pending",
        "created_at": added["created_at"],
        "updated_at": added["updated_at"],
        "deleted": False,
        "deleted_at": None,
    }
    assert update["status"] == "accepted"
    assert (delete["deleted"], delete["status"]) == (True, "accepted")
    assert delete["deleted_at"] is not None


def test_refused_member_operations_send_nothing(owner, member, image, notifications):
    assert add(owner, image["id"], "p2").status_int == 200
    del notifications[:]
    assert add(owner, image["id"], "p2").status_int == 409
    assert put_status(owner, image["id"], "p2", "accepted").status_int == 403
    assert member.delete(members_url(image["id"], "p2")).status_int == 403
    assert notifications == []


# -- schemas ---------------------------------------------------------------------------------


def test_member_schema(api):
    resp = api.get("/v2/schemas/member")
    assert resp.status_int == 200
    schema = resp.json
    assert schema["name"] == "member"
    assert set(schema) == {"name", "properties"}  # minimal: no additionalProperties, no links
    assert set(schema["properties"]) == MEMBER_KEYS
    assert schema["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert "pattern" in schema["properties"]["image_id"]
    assert schema["properties"]["schema"]["readOnly"] is True


def test_members_schema(api):
    resp = api.get("/v2/schemas/members")
    assert resp.status_int == 200
    schema = resp.json
    assert schema["name"] == "members"
    assert schema["properties"]["members"]["items"] == api.get("/v2/schemas/member").json
    assert schema["properties"]["schema"] == {"type": "string"}
    assert schema["links"] == [{"rel": "describedby", "href": "{schema}"}]


def test_member_views_validate_against_the_served_schema(owner, image):
    body = add(owner, image["id"], "p2").json
    jsonschema.validate(body, owner.get("/v2/schemas/member").json)
    jsonschema.validate(
        owner.get(members_url(image["id"])).json, owner.get("/v2/schemas/members").json
    )
