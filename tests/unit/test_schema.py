"""The image schema: base plus custom properties, loading the custom file, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgreg.conf import CONTAINER_FORMATS, DISK_FORMATS
from imgreg.domain import errors
from imgreg.domain.schema import ImageSchema, SchemaLoadError, load_custom_properties

ROOT = Path(__file__).resolve().parents[2]
CUSTOM = {
    "os_distro": {"type": "string", "maxLength": 8, "description": "Distribution."},
    "hw_cpus": {"type": "string", "pattern": "^[0-9]+$"},
}


def schema(custom=None, required=None, permissive=True):
    return ImageSchema(DISK_FORMATS, CONTAINER_FORMATS, custom, required, permissive)


def write(tmp_path, content):
    path = tmp_path / "schema-image.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_custom_properties_are_merged_as_not_base():
    doc = schema(CUSTOM).document
    assert doc["properties"]["os_distro"] == {**CUSTOM["os_distro"], "is_base": False}
    assert doc["properties"]["hw_cpus"]["is_base"] is False
    assert "is_base" not in doc["properties"]["name"]
    assert "os_distro" not in schema().document["properties"]


def test_custom_input_is_not_modified():
    custom = {"os_distro": {"type": "string"}}
    schema(custom)
    assert custom == {"os_distro": {"type": "string"}}


@pytest.mark.parametrize("name", ["name", "status", "checksum", "locations", "tags"])
def test_custom_property_named_like_a_base_one(name):
    with pytest.raises(SchemaLoadError, match=f"'{name}' conflicts with the base property"):
        schema({name: {"type": "string"}})


def test_custom_property_must_be_an_object():
    with pytest.raises(SchemaLoadError, match="'os_distro' must be a JSON object"):
        schema({"os_distro": "string"})


def test_custom_property_must_be_valid_json_schema():
    with pytest.raises(SchemaLoadError, match="not valid JSON schema"):
        schema({"os_distro": {"type": "text"}})


def test_load_flat_file(tmp_path):
    assert load_custom_properties(write(tmp_path, CUSTOM)) == (CUSTOM, [])


def test_load_extended_file(tmp_path):
    path = write(tmp_path, {"properties": CUSTOM, "required": ["os_distro"]})
    assert load_custom_properties(path) == (CUSTOM, ["os_distro"])


def test_load_extended_file_without_required(tmp_path):
    assert load_custom_properties(write(tmp_path, {"properties": CUSTOM})) == (CUSTOM, [])


def test_no_file_means_no_custom_properties():
    assert load_custom_properties(None) == ({}, [])
    assert load_custom_properties("") == ({}, [])


@pytest.mark.parametrize("content", ['{"os_distro": {"type": ', "", "not json"])
def test_invalid_json(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(SchemaLoadError, match=f"cannot read custom image properties from {path}"):
        load_custom_properties(path)


def test_json_that_is_not_an_object(tmp_path):
    with pytest.raises(SchemaLoadError, match="expected a JSON object"):
        load_custom_properties(write(tmp_path, [1, 2]))


def test_unreadable_file(tmp_path):
    with pytest.raises(SchemaLoadError, match="cannot read"):
        load_custom_properties(str(tmp_path / "missing.json"))


def test_the_shipped_file_loads():
    custom, required = load_custom_properties(str(ROOT / "etc" / "schema-image.json"))
    assert custom
    assert schema(custom, required).document["properties"]["kernel_id"]["is_base"] is False


def test_required_from_the_extended_format():
    s = schema(CUSTOM, ["os_distro"])
    assert s.document["required"] == ["os_distro"]
    with pytest.raises(errors.Invalid, match="'os_distro' is a required property"):
        s.validate({"name": "x"})
    s.validate({"name": "x"}, partial=True)  # an update need not repeat required properties
    s.validate({"name": "x", "os_distro": "debian"})
    assert "required" not in schema(CUSTOM).document


def test_permissive_accepts_extra_strings_only():
    s = schema(CUSTOM)
    assert s.document["additionalProperties"] == {"type": "string"}
    s.validate({"anything": "goes"})
    with pytest.raises(errors.Invalid, match="at 'anything'"):
        s.validate({"anything": 5})


def test_strict_refuses_extra_properties():
    s = schema(CUSTOM, permissive=False)
    assert s.document["additionalProperties"] is False
    s.validate({"os_distro": "debian", "name": "x"})
    with pytest.raises(errors.Invalid, match="Additional properties are not allowed"):
        s.validate({"anything": "goes"})


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"os_distro": "far-too-long"}, "os_distro"),
        ({"hw_cpus": "four"}, "hw_cpus"),
        ({"disk_format": "floppy"}, "disk_format"),
        ({"visibility": "everyone"}, "visibility"),
        ({"min_ram": "lots"}, "min_ram"),
        ({"tags": ["x" * 256]}, "tags/0"),
        ({"id": "not-a-uuid"}, "id"),
    ],
)
def test_validate_raises_invalid(body, where):
    with pytest.raises(errors.Invalid, match=f"does not match schema 'image'.*at '{where}'"):
        schema(CUSTOM).validate(body)


def test_validate_accepts_a_good_body():
    schema(CUSTOM).validate(
        {"name": None, "disk_format": "qcow2", "container_format": "bare", "min_ram": 512,
         "tags": ["a"], "visibility": "private", "os_distro": "debian", "hw_cpus": "4"}
    )  # fmt: skip


def test_collection_embeds_the_image_schema():
    s = schema(CUSTOM)
    collection = s.collection()
    assert collection["properties"]["images"]["items"] == s.document
    assert collection["properties"]["images"]["items"] is not s.document
