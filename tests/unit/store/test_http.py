"""The read-only http store: only URLs that pass ``[import_filtering_opts]`` are its own, it
reads them (ranges too, whether or not the server honours Range), and writes nothing."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from imgreg.domain import errors
from imgreg.store import registry
from imgreg.store.http import HttpStore
from tests.support.builders import make_conf
from tests.support.webserver import BODY, CountingServer, serving


@pytest.fixture
def web() -> Iterator[CountingServer]:
    with serving() as server:
        yield server


def store_for(web: CountingServer | None = None, **options: Any) -> HttpStore:
    if web is not None:
        options.setdefault("allow_private_addresses", True)
        options.setdefault("allowed_ports", [str(web.port)])
    conf = make_conf(**{f"import_filtering_opts__{k}": v for k, v in options.items()})
    return HttpStore(conf)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/body",  # loopback: private addresses are refused by default
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://0x7f000001:{port}/body",
        "http://user:pw@example.com/image",
        "ftp://example.com/image",
        "file:///etc/shadow",
        "rbd://fsid/images/x/snap",
    ],
)
def test_a_url_the_filter_refuses_is_not_the_stores(web, url):
    with pytest.raises(errors.NotFound):
        store_for().blob_id(url.format(port=web.port))
    assert web.total == 0  # refused before any request


def test_an_allowed_url_is_its_own_name_and_reads_back(web):
    store = store_for(web)
    url = web.url("/body")
    assert store.blob_id(url) == url
    reader = store.open(url)
    try:
        assert reader.size == len(BODY)
        assert b"".join(reader) == BODY
    finally:
        reader.close()


def test_a_range_is_cut_from_a_server_that_ignores_range(web):
    reader = store_for(web).open(web.url("/body"), 10, 20)
    try:
        assert (reader.size, b"".join(reader)) == (20, BODY[10:30])
    finally:
        reader.close()


def test_a_range_the_server_honours_is_read_as_sent(web):
    web.routes["/ranged"] = (206, BODY[10:], {"Content-Range": f"bytes 10-{len(BODY) - 1}/*"})
    reader = store_for(web).open(web.url("/ranged"), 10, 20)
    try:
        assert (reader.size, b"".join(reader)) == (20, BODY[10:30])
    finally:
        reader.close()


def test_a_missing_url_is_a_store_error_and_a_refused_one_not_found(web):
    with pytest.raises(errors.StoreError):
        store_for(web).open(web.url("/missing"))
    with pytest.raises(errors.NotFound):
        store_for().open(web.url("/body"))  # private address, refused at every read too


def test_nothing_is_written_or_deleted(web):
    store = store_for(web)
    with pytest.raises(errors.Invalid, match="read-only"):
        store.add(str(uuid.uuid4()), io.BytesIO(b"x"), 1, "sha512")
    store.delete(web.url("/body"))
    assert web.total == 0
    assert store.list_blobs() == [] and store.list_partials() == []


def test_an_http_backend_is_read_only_and_never_the_default(tmp_path):
    path = tmp_path / "imgreg-api.conf"
    path.write_text(
        "[DEFAULT]\nenabled_backends = local:file, web:http\n"
        f"[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = {tmp_path}\n"
    )
    stores = registry.build(make_conf(path))
    assert {i.id: i.read_only for i in stores.info()} == {"local": False, "web": True}
    refused = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(errors.NotFound, match="does not pass filtering"):
        stores.resolve(refused)
    conf = make_conf(path)
    conf.set_override("default_backend", "web", group="glance_store")
    with pytest.raises(ValueError, match="read-only"):
        registry.build(conf)
    with pytest.raises(ValueError, match="read-only"):
        registry.build(make_conf(glance_store__default_store="http"))


def test_a_fragment_names_a_location_and_is_not_fetched(web):
    store = store_for(web)
    url = web.url("/body") + "#copy2"
    assert store.blob_id(url) == url
    reader = store.open(url)
    try:
        assert b"".join(reader) == BODY
    finally:
        reader.close()
    assert web.counts["/body"] == 1
    with pytest.raises(errors.NotFound):  # what is fetched is what the filter saw
        store_for(web).blob_id(f"http://169.254.169.254/#@127.0.0.1:{web.port}/body")
