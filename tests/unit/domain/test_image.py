"""The ``Image`` domain object: the status table, named transitions and ``changes()``."""

from __future__ import annotations

import itertools

import pytest

from imgreg.domain import errors
from imgreg.domain.image import DATA_FIELDS, STATUSES, TRANSITIONS, Image
from tests.support.builders import make_image

# Glance's Image.valid_state_targets (glance-api.md §2.1), the reference the table must match.
GLANCE = {
    "queued": {"saving", "uploading", "importing", "active", "deleted"},
    "saving": {"active", "killed", "deleted", "queued"},
    "uploading": {"importing", "queued", "deleted"},
    "importing": {"active", "deleted", "queued"},
    "active": {"pending_delete", "deleted", "deactivated"},
    "killed": {"deleted"},
    "pending_delete": {"deleted", "active"},
    "deactivated": {"active", "deleted"},
    "deleted": set(),
}
ALLOWED = [(src, dst) for src, targets in GLANCE.items() for dst in sorted(targets)]
FORBIDDEN = [(src, dst) for src, dst in itertools.product(GLANCE, GLANCE) if dst not in GLANCE[src]]


def test_table_knows_every_status():
    assert set(STATUSES) == set(GLANCE)
    assert set(TRANSITIONS) == set(GLANCE)


@pytest.mark.parametrize(("src", "dst"), ALLOWED)
def test_allowed_move(src, dst):
    image = make_image(status=src)
    image._move(dst)
    assert image.status == dst


@pytest.mark.parametrize(("src", "dst"), FORBIDDEN)
def test_forbidden_move(src, dst):
    image = make_image(status=src)
    with pytest.raises(errors.InvalidTransition, match=f"from {src} to {dst} is not allowed"):
        image._move(dst)
    assert image.status == src


@pytest.mark.parametrize(
    ("src", "method", "dst"),
    [
        ("saving", "activate", "active"),
        ("active", "deactivate", "deactivated"),
        ("deactivated", "reactivate", "active"),
        ("active", "mark_deleted", "deleted"),
        ("queued", "mark_deleted", "deleted"),
    ],
)
def test_named_transitions(src, method, dst):
    image = make_image(status=src)
    getattr(image, method)()
    assert image.status == dst


@pytest.mark.parametrize(
    ("src", "method"),
    [("queued", "deactivate"), ("deleted", "reactivate"), ("killed", "activate"),
     ("active", "abort_upload"), ("deleted", "mark_deleted")],
)  # fmt: skip
def test_named_transition_refused(src, method):
    image = make_image(status=src)
    with pytest.raises(errors.InvalidTransition):
        getattr(image, method)()
    assert image.status == src


def test_begin_upload_moves_queued_to_saving():
    image = make_image(disk_format="raw", container_format="bare")
    image.begin_upload()
    assert image.status == "saving"


@pytest.mark.parametrize(
    ("disk", "container"), [(None, "bare"), ("raw", None), (None, None), ("", "bare")]
)
def test_begin_upload_needs_both_formats(disk, container):
    image = make_image(disk_format=disk, container_format=container)
    with pytest.raises(errors.Invalid, match="disk_format, container_format must be set"):
        image.begin_upload()
    assert image.status == "queued"


@pytest.mark.parametrize("status", ["saving", "active", "deactivated", "uploading", "deleted"])
def test_begin_upload_from_non_queued(status):
    image = make_image(status=status, disk_format="raw", container_format="bare")
    with pytest.raises(errors.InvalidTransition, match=f"from {status} to saving"):
        image.begin_upload()
    assert image.status == status


def test_abort_upload_forgets_the_data():
    image = make_image(status="saving", disk_format="raw", container_format="bare")
    image.size = image.virtual_size = 42
    image.checksum = "c" * 32
    image.os_hash_algo = "sha512"
    image.os_hash_value = "f" * 128
    image.locations = ["file:///somewhere"]
    image.abort_upload()
    assert image.status == "queued"
    assert {name: getattr(image, name) for name in DATA_FIELDS} == dict.fromkeys(DATA_FIELDS)
    assert image.locations == []


def test_no_changes_right_after_mark_clean():
    image = make_image(name="n", tags={"a"}, extra_properties={"k": "v"}, locations=["u"])
    changes = image.changes()
    assert changes.fields == set()
    assert (changes.added, changes.updated, changes.removed) == (set(), set(), set())
    assert not changes.tags_changed
    assert not changes.locations_changed
    assert changes.status_before == "queued"


def test_changes_fields_and_properties():
    image = make_image(name="n", extra_properties={"keep": "1", "edit": "1", "drop": "1"})
    image.name = "renamed"
    image.min_ram = 512
    image.size = 10
    image.extra_properties["edit"] = "2"
    del image.extra_properties["drop"]
    image.extra_properties["new"] = "x"
    changes = image.changes()
    assert changes.fields == {"name", "min_ram", "size"}
    assert changes.added == {"new"}
    assert changes.updated == {"edit"}
    assert changes.removed == {"drop"}
    assert changes.properties == {"new", "edit", "drop"}
    assert not changes.tags_changed


def test_changes_tags():
    image = make_image(tags={"a", "b"})
    image.tags.discard("a")
    image.tags.add("c")
    changes = image.changes()
    assert changes.tags_changed
    assert set(changes.tags_added) == {"c"}
    assert set(changes.tags_removed) == {"a"}
    assert changes.fields == set()


def test_changes_status_and_locations():
    image = make_image(status="saving", disk_format="raw", container_format="bare")
    image.locations = ["file:///x"]
    image.activate()
    changes = image.changes()
    assert changes.fields == {"status"}
    assert changes.status_before == "saving"
    assert changes.locations_changed


def test_mark_clean_resets_the_baseline():
    image = make_image(extra_properties={"a": "1"})
    image.extra_properties["a"] = "2"
    image.tags.add("t")
    image.mark_clean()
    image.extra_properties["a"] = "3"
    changes = image.changes()
    assert changes.updated == {"a"}
    assert not changes.tags_changed


def test_snapshot_is_a_copy():
    """Mutating the live dict/set in place must not also change the snapshot."""
    image = make_image(extra_properties={"a": "1"}, tags={"t"})
    image.extra_properties["b"] = "2"
    image.tags.add("u")
    changes = image.changes()
    assert changes.added == {"b"}
    assert changes.tags_changed


def test_never_cleaned_image_reports_everything_set():
    image = Image(id="i", owner="p", name="n", extra_properties={"a": "1"}, tags={"t"})
    changes = image.changes()
    assert "name" in changes.fields
    assert changes.added == {"a"}
    assert changes.tags_changed


def test_restore_properties_is_not_a_change():
    image = make_image(extra_properties={"a": "1"})
    image.extra_properties["a"] = "2"
    image.restore_properties({"hidden": "h"})
    assert image.extra_properties == {"a": "2", "hidden": "h"}
    changes = image.changes()
    assert (changes.added, changes.updated, changes.removed) == (set(), {"a"}, set())


def test_restore_properties_keeps_what_the_caller_set():
    image = make_image()
    image.extra_properties["hidden"] = "new"
    image.restore_properties({"hidden": "old"})
    assert image.extra_properties == {"hidden": "new"}
    assert image.changes().updated == {"hidden"}
