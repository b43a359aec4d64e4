"""The configured stores (``enabled_backends``): built from Glance's options, each URL routed
to the store that owns it, and nothing accepted that no store owns."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from imgreg.domain import errors
from imgreg.store import registry
from tests.support.builders import make_conf


def two_stores(tmp_path: Path, extra: str = "") -> registry.Stores:
    path = tmp_path / "imgreg-api.conf"
    path.write_text(
        "[DEFAULT]\nenabled_backends = fast:file, slow:file\n"
        "[glance_store]\ndefault_backend = slow\n"
        f"[fast]\nfilesystem_store_datadir = {tmp_path / 'fast'}\nweight = 10\n"
        f"store_description = Local SSD\n"
        f"[slow]\nfilesystem_store_datadir = {tmp_path / 'slow'}\n{extra}"
    )
    return registry.build(make_conf(path))


def test_single_store_configuration_is_one_default_store(tmp_path):
    stores = registry.build(make_conf(glance_store__filesystem_store_datadir=str(tmp_path)))
    assert not stores.multiple
    assert [(i.kind, i.default) for i in stores.info()] == [("file", True)]
    image_id = str(uuid.uuid4())
    blob = stores.add(image_id, io.BytesIO(b"one"), 3, "sha512")
    assert blob.url == f"file://{tmp_path}/{image_id}"
    assert stores.resolve(blob.url) == (registry.SINGLE, image_id)


def test_each_backend_from_its_own_section(tmp_path):
    stores = two_stores(tmp_path)
    assert stores.multiple and stores.default_id == "slow"
    info = {i.id: i for i in stores.info()}
    assert (info["fast"].kind, info["fast"].weight, info["fast"].description) == (
        "file", 10, "Local SSD",
    )  # fmt: skip
    assert (info["slow"].default, info["fast"].default) == (True, False)
    image_id = str(uuid.uuid4())
    default = stores.add(image_id, io.BytesIO(b"slow data"), 9, "sha512")
    fast = stores.add_to("fast", image_id, io.BytesIO(b"fast data"), 9, "sha512")
    assert default.url == f"file://{tmp_path / 'slow'}/{image_id}"
    assert fast.url == f"file://{tmp_path / 'fast'}/{image_id}"
    assert stores.resolve(fast.url) == ("fast", image_id)
    assert b"".join(stores.open(fast.url)) == b"fast data"
    assert sorted(stores.list_blobs()) == sorted([default.url, fast.url])
    stores.delete(fast.url)
    assert stores.list_blobs() == [default.url]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/shadow",
        "file://{root}/../slow/{id}",
        "file://{root}/{upper}",
        "file://{root}/{{{id}}}",
        "file://host{root}/{id}",
        "http://169.254.169.254/latest/meta-data/",
        "swift://glance/{id}",
        "",
    ],
)
def test_a_url_no_store_owns_is_not_found(tmp_path, url):
    stores = two_stores(tmp_path)
    image_id = str(uuid.uuid4())
    url = url.format(root=tmp_path / "fast", id=image_id, upper=image_id.upper())
    with pytest.raises(errors.NotFound):
        stores.resolve(url)
    stores.delete(url)  # nothing to delete: no error, nothing touched


def test_partials_are_named_with_their_store(tmp_path):
    stores = two_stores(tmp_path)
    partial = tmp_path / "fast" / ".partial" / f"{uuid.uuid4()}.abc"
    partial.write_bytes(b"half")
    [found] = stores.list_partials()
    assert found.name == f"fast:{partial.name}"
    stores.delete_partial(found.name)
    assert not partial.exists()


@pytest.mark.parametrize(
    ("backends", "default", "message"),
    [
        ("fast:file,slow:nfs", "fast", "unknown type 'nfs'"),
        ("fast:file", "slow", "default_backend must be one of"),
        ("fast:file", None, "default_backend must be one of"),
        ("os_glance_staging_store:file", "os_glance_staging_store", "cannot name a store"),
    ],
)
def test_a_wrong_configuration_is_refused(tmp_path, backends, default, message):
    conf = make_conf(enabled_backends=dict(b.split(":") for b in backends.split(",")))
    if default is not None:
        conf.set_override("default_backend", default, group="glance_store")
    with pytest.raises(ValueError, match=message):
        registry.build(conf)
