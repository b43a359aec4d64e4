"""``/v2/schemas/image(s)``: what is served, and that create enforces exactly that."""

from __future__ import annotations

import json

import pytest

from tests.support.client import client_with
from tests.support.config import ETC

# tools/test's first pass only: the schema documents come from no database; what create writes is
# tested on every engine by test_images_create.py
pytestmark = pytest.mark.first_pass

BASE = {
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "container_format", "disk_format",
    "created_at", "updated_at", "tags", "direct_url", "min_ram", "min_disk", "self", "file",
    "stores", "schema", "locations",
}  # fmt: skip
READ_ONLY = {
    "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size", "created_at",
    "updated_at", "direct_url", "self", "file", "stores", "schema",
}  # fmt: skip
CUSTOM = json.loads((ETC / "schema-image.json").read_text())
UUID = "d3b07384-d9a7-4f3c-8a1e-5c2b1f0e9a77"


def test_image_schema_has_every_base_property(api):
    resp = api.get("/v2/schemas/image")
    assert resp.status_int == 200
    assert resp.content_type == "application/json"
    schema = resp.json
    assert schema["name"] == "image"
    assert set(schema["properties"]) >= BASE
    assert {k for k, v in schema["properties"].items() if v.get("readOnly")} == READ_ONLY
    assert schema["properties"]["visibility"]["enum"] == [
        "community",
        "public",
        "private",
        "shared",
    ]
    assert schema["properties"]["name"] == {
        "type": ["null", "string"],
        "description": "Human-readable name.",
        "maxLength": 255,
    }
    assert None in schema["properties"]["disk_format"]["enum"]
    assert "qcow2" in schema["properties"]["disk_format"]["enum"]
    assert schema["links"] == [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def test_custom_properties_are_merged_and_marked_not_base(api):
    properties = api.get("/v2/schemas/image").json["properties"]
    assert set(CUSTOM) == {k for k, v in properties.items() if v.get("is_base") is False}
    for name, definition in CUSTOM.items():
        assert properties[name] == {**definition, "is_base": False}
    assert not any("is_base" in properties[name] for name in BASE)


def test_additional_properties_must_be_strings(api):
    assert api.get("/v2/schemas/image").json["additionalProperties"] == {"type": "string"}


def test_images_schema_wraps_the_image_schema(api):
    image_schema = api.get("/v2/schemas/image").json
    resp = api.get("/v2/schemas/images")
    assert resp.status_int == 200
    schema = resp.json
    assert schema["name"] == "images"
    assert schema["properties"]["images"] == {"type": "array", "items": image_schema}
    for link in ("first", "next", "schema"):
        assert schema["properties"][link] == {"type": "string"}
    assert [link["rel"] for link in schema["links"]] == ["first", "next", "describedby"]


@pytest.mark.parametrize("path", ["/v2/schemas/image", "/v2/schemas/images"])
def test_schema_get_refuses_a_body(api, path):
    resp = api.request("GET", path, raw=b"{}")
    assert resp.status_int == 400
    assert "A body is not expected with this request." in resp.text


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"kernel_id": "notauuid"}, "kernel_id"),
        ({"ramdisk_id": "1234"}, "ramdisk_id"),
        ({"cinder_encryption_key_deletion_policy": "sometimes"}, "sometimes"),
        ({"os_distro": 7}, "os_distro"),
        ({"extra": 1}, "extra"),
        ({"extra": None}, "extra"),
        ({"name": "n" * 256}, "name"),
        ({"visibility": "everyone"}, "everyone"),
        ({"protected": "true"}, "protected"),
        ({"disk_format": "floppy"}, "floppy"),
        ({"min_ram": "512"}, "min_ram"),
        ({"tags": ["t" * 256]}, "tags"),
        ({"id": "not-a-uuid"}, "id"),
    ],
)
def test_create_is_validated_against_the_served_schema(api, body, fragment):
    resp = api.post("/v2/images", body)
    assert resp.status_int == 400, resp.text
    assert fragment in resp.text
    assert api.get("/v2/images").json["images"] == []


def test_values_the_schema_allows_are_accepted(api):
    image = api.create(
        kernel_id=UUID,
        ramdisk_id=None,
        cinder_encryption_key_deletion_policy="do_not_delete",
        name="n" * 255,
        anything="goes",
    )
    assert image["kernel_id"] == UUID
    assert image["ramdisk_id"] == ""
    assert image["cinder_encryption_key_deletion_policy"] == "do_not_delete"
    assert image["anything"] == "goes"
    assert len(image["name"]) == 255


@pytest.fixture
def strict(conf):
    return client_with(conf, allow_additional_image_properties=False)


def test_strict_schema_forbids_additional_properties(strict):
    schema = strict.get("/v2/schemas/image").json
    assert schema["additionalProperties"] is False
    assert set(CUSTOM) <= set(schema["properties"])
    images = strict.get("/v2/schemas/images").json
    assert images["properties"]["images"]["items"]["additionalProperties"] is False


def test_strict_schema_refuses_unknown_properties_on_create(strict):
    resp = strict.post("/v2/images", {"name": "x", "foo": "bar"})
    assert resp.status_int == 400
    assert "foo" in resp.text
    image = strict.create(name="x", os_distro="debian")
    assert image["os_distro"] == "debian"
