"""``POST /v2/images``: the representation, ids, attribute rules, policy and quotas."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.support.client import client_with

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE_KEYS = {
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format",
    "min_disk", "min_ram", "tags", "created_at", "updated_at", "self", "file", "schema",
}  # fmt: skip


def test_create_answers_201_with_location_and_glance_representation(api):
    resp = api.post(
        "/v2/images",
        {"name": "img1", "disk_format": "raw", "container_format": "bare", "foo": "bar"},
    )
    assert resp.status_int == 201
    assert resp.content_type == "application/json"
    image = resp.json
    image_id = image["id"]
    assert str(uuid.UUID(image_id)) == image_id
    assert resp.headers["Location"] == f"http://localhost/v2/images/{image_id}"
    assert set(image) == BASE_KEYS | {"foo"}
    assert image["foo"] == "bar"
    assert {k: image[k] for k in ("name", "status", "visibility", "protected", "os_hidden")} == {
        "name": "img1",
        "status": "queued",
        "visibility": "shared",
        "protected": False,
        "os_hidden": False,
    }
    for key in ("checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size"):
        assert image[key] is None, key
    assert image["owner"] is None  # the admin (no identity headers) has no project
    assert (image["min_disk"], image["min_ram"], image["tags"]) == (0, 0, [])
    assert TIMESTAMP.match(image["created_at"])
    assert TIMESTAMP.match(image["updated_at"])
    assert image["self"] == f"/v2/images/{image_id}"
    assert image["file"] == f"/v2/images/{image_id}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert api.get(f"/v2/images/{image_id}").json == image


def test_empty_body_creates_an_image_with_null_formats(api):
    resp = api.post("/v2/images", {})
    assert resp.status_int == 201
    assert resp.json["name"] is None
    assert resp.json["disk_format"] is None
    assert resp.json["container_format"] is None


def test_tags_are_deduplicated(api):
    image = api.create(tags=["b", "a", "b", "a"])
    assert sorted(image["tags"]) == ["a", "b"]


def test_public_endpoint_is_the_base_of_location(conf):
    client = client_with(conf, public_endpoint="https://images.example.org")
    resp = client.post("/v2/images", {"name": "x"})
    assert resp.headers["Location"] == f"https://images.example.org/v2/images/{resp.json['id']}"


def test_client_chosen_id_is_kept(api):
    chosen = str(uuid.uuid4())
    assert api.create(id=chosen)["id"] == chosen
    assert api.get(f"/v2/images/{chosen}").json["id"] == chosen


def test_duplicate_id_is_409(api):
    chosen = str(uuid.uuid4())
    api.create(id=chosen)
    resp = api.post("/v2/images", {"id": chosen})
    assert resp.status_int == 409
    assert f"Image ID {chosen} already exists!" in resp.text


def test_upper_case_form_of_an_existing_id_is_409(api):
    chosen = str(uuid.uuid4())
    api.create(id=chosen)
    assert api.post("/v2/images", {"id": chosen.upper()}).status_int == 409


def test_id_of_a_deleted_image_is_never_reused(api):
    chosen = str(uuid.uuid4())
    api.create(id=chosen)
    assert api.delete(f"/v2/images/{chosen}").status_int == 204
    resp = api.post("/v2/images", {"id": chosen})
    assert resp.status_int == 409
    assert "already exists" in resp.text


@pytest.mark.parametrize(
    "name",
    [
        "status",
        "size",
        "checksum",
        "created_at",
        "updated_at",
        "virtual_size",
        "os_hash_algo",
        "os_hash_value",
        "self",
        "file",
        "schema",
        "direct_url",
        "stores",
    ],
)
def test_read_only_attributes_are_403(api, name):
    resp = api.post("/v2/images", {"name": "x", name: "v"})
    assert resp.status_int == 403
    assert f"Attribute '{name}' is read-only." in resp.text
    assert api.get("/v2/images").json["images"] == []


@pytest.mark.parametrize("name", ["location", "locations", "deleted", "deleted_at", "os_glance_x"])
def test_reserved_attributes_are_403(api, name):
    resp = api.post("/v2/images", {"name": "x", name: "v"})
    assert resp.status_int == 403
    assert f"Attribute '{name}' is reserved." in resp.text
    assert api.get("/v2/images").json["images"] == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "Malformed JSON in request body."),
        (b"", "Unexpected body type"),
        (b"[]", "Unexpected body type"),
        (b'[{"name": "x"}]', "Unexpected body type"),
        (b'"a string"', "Unexpected body type"),
        (b"42", "Unexpected body type"),
        (b"null", "Unexpected body type"),
    ],
)
def test_bodies_that_are_not_json_objects_are_400(api, raw, message):
    resp = api.request("POST", "/v2/images", raw=raw, headers={"Content-Type": "application/json"})
    assert resp.status_int == 400
    assert message in resp.text


def test_content_type_is_not_checked(api):
    resp = api.request(
        "POST", "/v2/images", raw=b'{"name": "t"}', headers={"Content-Type": "text/plain"}
    )
    assert resp.status_int == 201
    assert resp.json["name"] == "t"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "smile \U0001f600"},
        {"k\U0001f600": "v"},
        {"tags": ["\U0001f600"]},
        {"os_distro": "\U0001f600"},
    ],
)
def test_four_byte_unicode_is_400(api, body):
    resp = api.post("/v2/images", body)
    assert resp.status_int == 400
    assert "Name can't contain 4 byte unicode characters." in resp.text


def test_three_byte_unicode_is_kept(api):
    image = api.create(name="Ünïcødé ☃", description="日本語")
    assert api.get(f"/v2/images/{image['id']}").json["name"] == "Ünïcødé ☃"
    assert image["description"] == "日本語"


@pytest.mark.parametrize("name", ["min_ram", "min_disk"])
def test_negative_minimums_are_400(api, name):
    resp = api.post("/v2/images", {name: -1})
    assert resp.status_int == 400
    assert f"'{name}' Cannot be a negative value" in resp.text


@pytest.mark.parametrize("name", ["min_ram", "min_disk"])
def test_minimums_beyond_int32_are_400(api, name):
    resp = api.post("/v2/images", {name: 2**31})
    assert resp.status_int == 400
    assert f"'{name}' value out of range" in resp.text
    assert api.create(**{name: 2**31 - 1})[name] == 2**31 - 1


def test_property_name_longer_than_255_is_400(api):
    assert api.post("/v2/images", {"k" * 256: "v"}).status_int == 400
    assert api.create(**{"k" * 255: "v"})["k" * 255] == "v"


def test_member_creates_its_own_image(api):
    resp = api.as_("p1").post("/v2/images", {"name": "mine"})
    assert resp.status_int == 201
    assert resp.json["owner"] == "p1"
    assert api.as_("p1").post("/v2/images", {"name": "x", "owner": "p1"}).json["owner"] == "p1"


def test_member_cannot_create_for_another_owner(api):
    resp = api.as_("p1").post("/v2/images", {"name": "x", "owner": "p2"})
    assert resp.status_int == 403
    assert "You are not permitted to create images owned by 'p2'." in resp.text
    assert api.get("/v2/images").json["images"] == []


def test_admin_creates_for_any_owner(api):
    assert api.create(owner="p2")["owner"] == "p2"
    assert api.as_("p9", roles="admin").create(owner="p2")["owner"] == "p2"


def test_reader_cannot_create(api):
    resp = api.as_("p1", roles="reader").post("/v2/images", {"name": "x"})
    assert resp.status_int == 403
    assert "add_image" in resp.text
    assert api.get("/v2/images").json["images"] == []


def test_member_cannot_create_public_but_may_create_community_and_private(api):
    member = api.as_("p1")
    resp = member.post("/v2/images", {"visibility": "public"})
    assert resp.status_int == 403
    assert "publicize_image" in resp.text
    assert member.create(visibility="community")["visibility"] == "community"
    assert member.create(visibility="private")["visibility"] == "private"
    assert api.create(visibility="public")["visibility"] == "public"


def test_property_quota_is_413(conf):
    client = client_with(conf, image_property_quota=2)
    assert client.create(a="1", b="2")["b"] == "2"
    resp = client.post("/v2/images", {"a": "1", "b": "2", "c": "3"})
    assert resp.status_int == 413
    assert "Maximum number of image properties exceeded" in resp.text
    assert len(client.get("/v2/images").json["images"]) == 1


def test_tag_quota_is_413(conf):
    client = client_with(conf, image_tag_quota=2)
    assert sorted(client.create(tags=["a", "b", "a"])["tags"]) == ["a", "b"]
    resp = client.post("/v2/images", {"tags": ["a", "b", "c"]})
    assert resp.status_int == 413
    assert "Maximum number of image tags exceeded" in resp.text
