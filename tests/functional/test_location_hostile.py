"""Hostile locations: every URL that is not this image's own blob in a configured store, and
every malformed location body, is refused (400) through both location APIs, and the image is
left as it was: queued, no location, its data and every other image's untouched in the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgreg.importing import flow
from tests.functional.test_location_patch import DATA, OWNER, PATCH, place_blob
from tests.support.client import Client, client_with, new_image

OTHER_DATA = b"somebody else's data"
# (root, image id, other image id) -> the url
Url = Callable[[str, str, str], Any]
URLS: dict[str, Url] = {
    "http": lambda r, i, o: f"http://example.com/{i}",
    "https": lambda r, i, o: f"https://example.com{r}/{i}",
    "ftp": lambda r, i, o: f"ftp://example.com/{i}",
    "swift+config": lambda r, i, o: f"swift+config://ref1/glance/{i}",
    "cinder": lambda r, i, o: f"cinder://{i}",
    "data": lambda r, i, o: "data:application/octet-stream;base64,aGVsbG8=",
    "etc-shadow": lambda r, i, o: "file:///etc/shadow",
    "dotdot": lambda r, i, o: f"file://{r}/../{Path(r).name}/{i}",
    "encoded-dotdot": lambda r, i, o: f"file://{r}/%2e%2e/{Path(r).name}/{i}",
    "file-with-host": lambda r, i, o: f"file://evil.example.com{r}/{i}",
    "file-localhost": lambda r, i, o: f"file://localhost{r}/{i}",
    "other-image": lambda r, i, o: f"file://{r}/{o}",
    "double-slash": lambda r, i, o: f"file://{r}//{i}",
    "trailing-slash": lambda r, i, o: f"file://{r}/{i}/",
    "query": lambda r, i, o: f"file://{r}/{i}?x=1",
    "fragment": lambda r, i, o: f"file://{r}/{i}#x",
    "rbd-other-fsid": lambda r, i, o: f"rbd://00000000-0000-0000-0000-000000000000/images/{i}/snap",
    "rbd-other-pool": lambda r, i, o: f"rbd://fsid/vms/{i}/snap",
    "rbd-no-snap": lambda r, i, o: f"rbd://fsid/images/{i}",
    "rbd-legacy": lambda r, i, o: f"rbd://{i}",
    "rbd-credentials": lambda r, i, o: f"rbd://admin@fsid/images/{i}/snap",
    "metadata-service": lambda r, i, o: "http://169.254.169.254/latest/meta-data/",
    "swift-credentials": lambda r, i, o: f"swift://user:key@glance/{i}",
    "s3-credentials": lambda r, i, o: f"s3://key:secret@bucket/{i}",
    "upper-case-id": lambda r, i, o: f"file://{r}/{i.upper()}",
    "braced-id": lambda r, i, o: f"file://{r}/{{{i}}}",
    "urn-uuid": lambda r, i, o: f"file://{r}/urn:uuid:{i}",
    "urn-uuid-scheme": lambda r, i, o: f"urn:uuid:{i}",
    "hex-id": lambda r, i, o: f"file://{r}/{i.replace('-', '')}",
    "overlong": lambda r, i, o: f"file://{r}/{i}" + "/" * 256,
    "empty": lambda r, i, o: "",
    "space": lambda r, i, o: f"file://{r}/{i} ",
    "newline": lambda r, i, o: f"file://{r}/{i}\n",
    "non-ascii": lambda r, i, o: f"file://{r}/é/{i}",
    "integer": lambda r, i, o: 42,
    "list": lambda r, i, o: [f"file://{r}/{i}"],
    "null": lambda r, i, o: None,
}


def with_data(**validation: Any) -> Callable[[str], Any]:
    return lambda url: {"url": url, "validation_data": validation}


# bodies of POST /locations that are wrong whatever the url (own_url: the one valid URL)
BODIES: dict[str, Callable[[str], Any]] = {
    "no-url": lambda u: {"validation_data": {}},
    "extra-key": lambda u: {"url": u, "metadata": {}},
    "extra-key-do-secure-hash": lambda u: {"url": u, "do_secure_hash": False},
    "unknown-algo": with_data(os_hash_algo="crc32", os_hash_value="ab" * 4),
    "value-not-hex": with_data(os_hash_algo="sha256", os_hash_value="zz" * 32),
    "value-wrong-length": with_data(os_hash_algo="sha256", os_hash_value="ab" * 31),
    "algo-without-value": with_data(os_hash_algo="sha256"),
    "value-without-algo": with_data(os_hash_value="ab" * 32),
    "validation-extra-key": with_data(
        os_hash_algo="md5", os_hash_value="ab" * 16, checksum="ab" * 16
    ),
    "value-not-string": with_data(os_hash_algo="md5", os_hash_value=5),
    "validation-not-object": lambda u: {"url": u, "validation_data": "sha256:abcd"},
}


class Setup:
    def __init__(self, conf: Any, store_dir: Path) -> None:
        app = client_with(conf, show_multiple_locations=True)
        self.client = app.as_(OWNER, roles="member,reader,service")
        self.store_dir = store_dir
        self.other = new_image(app.as_("p-other"), OTHER_DATA)["id"]
        self.image = self.client.create(name="target")["id"]
        self.own = place_blob(store_dir, self.image)
        self.root = str(store_dir.resolve())

    def url(self, make: Url) -> Any:
        return make(self.root, self.image, self.other)

    def assert_unchanged(self) -> None:
        assert flow.wait_idle(30)
        shown = self.client.get(f"/v2/images/{self.image}").json
        assert shown["status"] == "queued"
        assert shown["locations"] == [] and shown["size"] is None
        assert (self.store_dir / self.image).read_bytes() == DATA
        assert (self.store_dir / self.other).read_bytes() == OTHER_DATA
        assert self.client.get(f"/v2/images/{self.image}/tasks").json["tasks"] == []


@pytest.fixture
def setup(conf: Any, store_dir: Path) -> Setup:
    return Setup(conf, store_dir)


def post(client: Client, image_id: str, body: Any) -> Any:
    return client.post(f"/v2/images/{image_id}/locations", body)


@pytest.mark.parametrize("make", URLS.values(), ids=URLS.keys())
def test_post_refuses_url(setup, make):
    resp = post(setup.client, setup.image, {"url": setup.url(make)})
    assert resp.status_int == 400, resp.text
    setup.assert_unchanged()


@pytest.mark.parametrize("make", URLS.values(), ids=URLS.keys())
def test_patch_refuses_url(setup, make):
    value = {"url": setup.url(make), "metadata": {}}
    resp = setup.client.request(
        "PATCH", f"/v2/images/{setup.image}", headers=PATCH,
        body=[{"op": "add", "path": "/locations/-", "value": value}],
    )  # fmt: skip
    assert resp.status_int == 400, resp.text
    setup.assert_unchanged()


@pytest.mark.parametrize("make", BODIES.values(), ids=BODIES.keys())
def test_post_refuses_body(setup, make):
    resp = post(setup.client, setup.image, make(setup.own))
    assert resp.status_int == 400, resp.text
    setup.assert_unchanged()


@pytest.mark.parametrize(
    "value",
    [
        "not an object",
        {"url": "x"},  # no metadata
        {"metadata": {}},  # no url
        {"url": "x", "metadata": "not an object"},
        {"url": "x", "metadata": {}, "status": "active"},  # extra key
    ],
)
def test_patch_refuses_location_value(setup, value):
    if isinstance(value, dict) and value.get("url") == "x":
        value = {**value, "url": setup.own}
    resp = setup.client.request(
        "PATCH", f"/v2/images/{setup.image}", headers=PATCH,
        body=[{"op": "add", "path": "/locations/-", "value": value}],
    )  # fmt: skip
    assert resp.status_int == 400, resp.text
    setup.assert_unchanged()


def test_missing_blob_is_400(setup):
    (setup.store_dir / setup.image).unlink()
    resp = post(setup.client, setup.image, {"url": setup.own})
    assert resp.status_int == 400 and "no data" in resp.text
    (setup.store_dir / setup.image).write_bytes(DATA)
    setup.assert_unchanged()


def test_empty_blob_is_400(setup):
    (setup.store_dir / setup.image).write_bytes(b"")
    resp = post(setup.client, setup.image, {"url": setup.own})
    assert resp.status_int == 400
    (setup.store_dir / setup.image).write_bytes(DATA)
    setup.assert_unchanged()


def test_valid_form_is_accepted(setup):
    """The control: the same setup with the image's own URL works (so the refusals above are
    about the URL, not the setup)."""
    assert post(setup.client, setup.image, {"url": setup.own}).status_int == 202
    assert flow.wait_idle(30)
    assert setup.client.get(f"/v2/images/{setup.image}").json["status"] == "active"
