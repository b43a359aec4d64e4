"""The filesystem store's listing for the reaper and the check: blobs, partial files."""

from __future__ import annotations

import io
import os
import uuid

import pytest

from imgreg.domain import errors
from imgreg.store import filesystem as fs
from tests.support.builders import make_conf


@pytest.fixture
def store(tmp_path):
    return fs.FilesystemStore(make_conf(glance_store__filesystem_store_datadir=str(tmp_path)))


def test_lists_blobs_by_url_and_ignores_other_files(store):
    ids = sorted(str(uuid.uuid4()) for _ in range(2))
    for image_id in ids:
        store.add(image_id, io.BytesIO(b"data"), 4, "sha512")
    for other in ("README", str(uuid.uuid4()).upper()):  # names add() never writes
        with open(os.path.join(store.root, other), "w"):
            pass
    assert store.list_blobs() == [f"file://{store.root}/{i}" for i in ids]
    assert store.list_partials() == []


def test_lists_and_deletes_partial_files(store):
    image_id = str(uuid.uuid4())
    name = f"{image_id}.abc123"
    path = os.path.join(store.partial, name)
    with open(path, "w"):
        pass
    os.utime(path, (1000, 1000))
    (partial,) = store.list_partials()
    assert (partial.name, partial.image_id, partial.modified) == (name, image_id, 1000)
    store.delete_partial(name)
    store.delete_partial(name)  # already gone: no error
    assert store.list_partials() == []


@pytest.mark.parametrize("name", ["../x", "a/b", ".", ".."])
def test_delete_partial_refuses_paths(store, name):
    with pytest.raises(errors.NotFound):
        store.delete_partial(name)
