"""Glance's location rules without stores: positions, validation data, seeding, quota."""

from __future__ import annotations

import hashlib

import pytest

from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.location_rules import (
    NewLocation,
    check_quota,
    check_url,
    parse_validation,
    position,
    seed_values,
)

SHA = hashlib.sha512(b"x").hexdigest()


def image(**fields: object) -> Image:
    return Image(id="0a0b0c0d-0000-4000-8000-000000000001", owner="p", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("segment", "count", "adding", "want"),
    [
        ("-", 2, True, 2),
        ("0", 2, True, 0),
        ("2", 2, True, 2),
        ("-", 2, False, 1),
        ("1", 2, False, 1),
    ],
)
def test_positions(segment, count, adding, want):
    assert position(segment, count, adding) == want


@pytest.mark.parametrize(
    ("segment", "count", "adding"),
    [(None, 1, True), ("3", 2, True), ("2", 2, False), ("-", 0, False), ("x", 1, True),
     ("-1", 1, False), ("\u0661", 2, True), ("9" * 40, 2, True)],
)  # fmt: skip
def test_bad_positions(segment, count, adding):
    with pytest.raises(errors.Invalid, match="Invalid position"):
        position(segment, count, adding)


def test_url_must_be_short_printable_ascii():
    assert check_url("file:///x") == "file:///x"
    for bad in ("", "a" * 256, "file:///é", "file:///a b", "file:///\x01", None, 1):
        with pytest.raises(errors.Invalid):
            check_url(bad)


def test_add_validation_both_or_neither():
    assert parse_validation({}, patch=False) == {}
    assert parse_validation(None, patch=False) == {}
    good = {"os_hash_algo": "sha512", "os_hash_value": SHA}
    assert parse_validation(good, patch=False) == good
    with pytest.raises(errors.Invalid):
        parse_validation({"os_hash_algo": "sha512"}, patch=False)
    with pytest.raises(errors.Invalid):
        parse_validation({"os_hash_algo": "sha3_512", "os_hash_value": SHA}, patch=False)


def test_patch_validation_needs_both():
    with pytest.raises(errors.Invalid):
        parse_validation({"checksum": "a" * 32}, patch=True)


def test_seed_values_for_queued_image():
    loc = NewLocation("u", {}, {"os_hash_algo": "sha512", "os_hash_value": SHA})
    assert seed_values(image(), [loc], "sha512") == loc.validation
    with pytest.raises(errors.Conflict, match="must be sha256"):
        seed_values(image(), [loc], "sha256")
    with pytest.raises(errors.Conflict, match="only be provided when image status is 'queued'"):
        seed_values(image(status="active"), [loc], "sha512")
    with pytest.raises(errors.Conflict, match="already set"):
        seed_values(image(os_hash_value="ab"), [loc], "sha512")
    # values the image has already: nothing to seed, in any status
    active = image(status="active", os_hash_algo="sha512", os_hash_value=SHA)
    assert seed_values(active, [loc], "sha512") == {}


def test_seed_values_locations_must_agree():
    one = NewLocation("u", {}, {"os_hash_algo": "sha512", "os_hash_value": SHA})
    two = NewLocation("v", {}, {"os_hash_algo": "sha512", "os_hash_value": "0" * 128})
    with pytest.raises(errors.Conflict, match="Conflicting values"):
        seed_values(image(), [one, two], "sha512")


def test_quota():
    img = image(locations=["a", "b"])
    check_quota(img, 2)
    check_quota(img, -1)
    with pytest.raises(errors.QuotaExceeded):
        check_quota(img, 1)
