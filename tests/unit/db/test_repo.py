"""``SqlImageRepo`` on the real database (SQLite, PostgreSQL or MariaDB per IMGREG_TEST_DB)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from imgreg.db.models import ImageRow
from imgreg.domain import errors
from imgreg.domain.factory import ImageFactory

FIELDS = ("id", "owner", "status", "name", "visibility", "protected", "os_hidden",
          "container_format", "disk_format", "min_disk", "min_ram", "size", "virtual_size",
          "checksum", "os_hash_algo", "os_hash_value", "created_at", "updated_at", "tags",
          "extra_properties", "locations")  # fmt: skip


def new(owner="p1", **fields):
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    return ImageFactory().new_image(owner, **fields)


def as_dict(image):
    return {name: getattr(image, name) for name in FIELDS}


def test_add_get_round_trip(repo):
    image = new(
        name="ünïcode name", visibility="private", protected=True, min_ram=512, min_disk=2,
        tags={"a", "b c"}, extra_properties={"os_distro": "debian", "long": "x" * 5000},
    )  # fmt: skip
    image.created_at = image.updated_at = dt.datetime(2024, 5, 6, 7, 8, 9)
    assert repo.add(image) is image
    assert image.changes().fields == set()
    loaded = repo.get(image.id)
    assert as_dict(loaded) == as_dict(image)
    assert loaded.changes().fields == set()
    assert not loaded.changes().tags_changed


def test_get_missing(repo):
    with pytest.raises(errors.NotFound):
        repo.get("6a1b2c3d-0000-4000-8000-000000000000")


def test_null_property_is_stored_as_empty(repo):
    image = new(extra_properties={"ramdisk_id": None})
    repo.add(image)
    assert repo.get(image.id).extra_properties == {"ramdisk_id": ""}


def test_null_property_set_by_save_is_stored_as_empty(repo):
    image = new(extra_properties={"kernel_id": "k"})
    repo.add(image)
    loaded = repo.get(image.id)
    loaded.extra_properties["kernel_id"] = None
    loaded.extra_properties["ramdisk_id"] = None
    repo.save(loaded)
    assert repo.get(image.id).extra_properties == {"kernel_id": "", "ramdisk_id": ""}


def test_duplicate_id(repo):
    image = new()
    repo.add(image)
    with pytest.raises(errors.Conflict, match="already exists"):
        repo.add(new(image_id=image.id))
    assert repo.get(image.id).owner == "p1"


def test_save_writes_fields_properties_tags_and_locations(repo):
    image = new(name="a", tags={"keep", "drop"}, extra_properties={"k": "1", "gone": "x"})
    repo.add(image)
    loaded = repo.get(image.id)
    before = loaded.updated_at
    loaded.name = "b"
    loaded.min_ram = 64
    loaded.extra_properties["k"] = "2"
    loaded.extra_properties["new"] = "3"
    del loaded.extra_properties["gone"]
    loaded.tags = {"keep", "added"}
    loaded.locations = ["file:///one", "file:///two"]
    repo.save(loaded)
    assert loaded.changes().fields == set()
    again = repo.get(image.id)
    assert (again.name, again.min_ram) == ("b", 64)
    assert again.extra_properties == {"k": "2", "new": "3"}
    assert again.tags == {"keep", "added"}
    assert again.locations == ["file:///one", "file:///two"]
    assert again.updated_at >= before


def test_save_only_writes_what_changed(repo):
    image = new(name="a")
    repo.add(image)
    first, second = repo.get(image.id), repo.get(image.id)
    first.name = "from first"
    second.min_disk = 9
    repo.save(first)
    repo.save(second)
    final = repo.get(image.id)
    assert (final.name, final.min_disk) == ("from first", 9)


def test_save_from_state_guard(repo):
    image = new()
    repo.add(image)
    winner, loser = repo.get(image.id), repo.get(image.id)
    winner.begin_upload()
    repo.save(winner, from_state="queued")
    loser.begin_upload()
    with pytest.raises(errors.StaleState, match="no longer queued"):
        repo.save(loser, from_state="queued")
    assert repo.get(image.id).status == "saving"


def test_save_with_a_wrong_explicit_from_state(repo):
    image = new()
    repo.add(image)
    loaded = repo.get(image.id)
    loaded.name = "x"
    with pytest.raises(errors.StaleState):
        repo.save(loaded, from_state="active")
    assert repo.get(image.id).name is None


def test_status_change_is_guarded_by_the_loaded_status(repo):
    image = new()
    repo.add(image)
    first, second = repo.get(image.id), repo.get(image.id)
    first.begin_upload()
    repo.save(first)  # no from_state: the status it was loaded with is compared
    second.begin_upload()
    with pytest.raises(errors.StaleState):
        repo.save(second)


def test_save_deleted_image(repo):
    image = new()
    repo.add(image)
    loaded = repo.get(image.id)
    repo.remove(repo.get(image.id))
    loaded.name = "late"
    with pytest.raises(errors.NotFound):
        repo.save(loaded)
    loaded.begin_upload()
    with pytest.raises(errors.NotFound):
        repo.save(loaded, from_state="queued")


def test_remove_soft_deletes(repo, db):
    image = new(extra_properties={"k": "v"}, tags={"t"})
    repo.add(image)
    repo.remove(image)
    assert image.status == "deleted"
    with pytest.raises(errors.NotFound):
        repo.get(image.id)
    with db.read() as session:
        row = session.scalar(select(ImageRow).where(ImageRow.id == image.id))
        assert row is not None
        assert (row.deleted, row.status) == (True, "deleted")
        assert row.deleted_at is not None
    with pytest.raises(errors.Conflict):
        repo.add(new(image_id=image.id))  # a deleted id is never handed out again
    with pytest.raises(errors.NotFound):
        repo.remove(image)


def test_storage_used(repo):
    sizes = {"live": 100, "also_live": 23, "no_data": None, "deleted": 1000}
    images = {}
    for label, size in sizes.items():
        image = new()
        image.size = size
        repo.add(image)
        images[label] = image
    repo.remove(images["deleted"])
    other = new(owner="p2")
    other.size = 7
    repo.add(other)
    assert repo.storage_used("p1") == 123
    assert repo.storage_used("p2") == 7
    assert repo.storage_used("nobody") == 0
