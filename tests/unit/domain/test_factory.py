"""``ImageFactory.new_image``: ids, defaults and the attribute checks."""

from __future__ import annotations

import uuid

import pytest

from imgreg.domain import errors
from imgreg.domain.factory import READ_ONLY, RESERVED, ImageFactory


@pytest.fixture
def factory():
    return ImageFactory()


def test_generated_id_is_a_fresh_uuid(factory):
    first = factory.new_image("p")
    second = factory.new_image("p")
    assert str(uuid.UUID(first.id)) == first.id
    assert first.id != second.id


def test_defaults(factory):
    image = factory.new_image("p", name="n", tags={"a"}, extra_properties={"k": "v"})
    assert (image.owner, image.status, image.visibility) == ("p", "queued", "shared")
    assert (image.name, image.tags, image.extra_properties) == ("n", {"a"}, {"k": "v"})
    assert image.size is None
    assert image.locations == []


def test_given_id_is_normalized_to_lower_case(factory):
    given = "6A1B2C3D-0000-4000-8000-00000000ABCD"
    assert factory.new_image("p", image_id=given).id == given.lower()


def test_given_id_without_hyphens_is_normalized(factory):
    given = uuid.uuid4()
    assert factory.new_image("p", image_id=given.hex.upper()).id == str(given)


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234", "6a1b2c3d-0000-4000-8000-00000000abcg"])
def test_bad_id_is_invalid(factory, bad):
    with pytest.raises(errors.Invalid, match="Invalid image id"):
        factory.new_image("p", image_id=bad)


@pytest.mark.parametrize("name", sorted(READ_ONLY - {"self"}))  # self: the method's own
def test_read_only_field_names(factory, name):
    with pytest.raises(errors.ReadOnlyProperty, match=f"Attribute '{name}' is read-only"):
        factory.new_image("p", **{name: "x"})


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_property_names(factory, name):
    with pytest.raises(errors.ReadOnlyProperty):
        factory.new_image("p", extra_properties={name: "x"})


@pytest.mark.parametrize("name", [*sorted(RESERVED), "os_glance_importing_to_stores", "os_glancex"])
def test_reserved_names(factory, name):
    with pytest.raises(errors.ReservedProperty, match=f"Attribute '{name}' is reserved"):
        factory.new_image("p", extra_properties={name: "x"})
    with pytest.raises(errors.ReservedProperty):
        factory.new_image("p", **{name: "x"})


def test_os_glance_lookalike_is_allowed(factory):
    image = factory.new_image("p", extra_properties={"os_glanc": "x", "my_os_glance": "y"})
    assert image.extra_properties == {"os_glanc": "x", "my_os_glance": "y"}


def test_unknown_field_is_invalid(factory):
    with pytest.raises(errors.Invalid, match="Unknown image attribute 'colour'"):
        factory.new_image("p", colour="blue")


@pytest.mark.parametrize("name", ["min_ram", "min_disk"])
def test_negative_minimum_is_invalid(factory, name):
    with pytest.raises(errors.Invalid, match=f"'{name}' Cannot be a negative value"):
        factory.new_image("p", **{name: -1})


def test_minimum_above_int32_is_invalid(factory):
    with pytest.raises(errors.Invalid, match="out of range"):
        factory.new_image("p", min_ram=2**31)
    assert factory.new_image("p", min_ram=2**31 - 1).min_ram == 2**31 - 1
