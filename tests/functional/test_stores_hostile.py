"""Hostile input to the several-stores calls (two filesystem stores): ``/v2/info/stores``
(``/detail``), ``DELETE /v2/stores/{store_id}/{image_id}``, ``X-Image-Meta-Store`` on
``PUT /file`` and on import, ``?prefer=`` on ``GET /file``, copy-image's ``stores``. Every
case gets its 4xx (never a 500) with Glance's JSON error body, in any accepted type, and
changes nothing: every row of every table and every file of both stores are compared."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from imgreg import wsgi
from tests.functional.test_hostile_input import Case, dump_database, send
from tests.functional.test_import_hostile import check_error
from tests.support.client import UNKNOWN_ID, Client, new_image

Q = "{q}"
A = "{a}"
ACCEPT = {"Accept": "application/json"}
JSON = {**ACCEPT, "Content-Type": "application/json"}
OCTETS = {**ACCEPT, "Content-Type": "application/octet-stream"}
MEMBER = {**ACCEPT, "X-Identity-Status": "Confirmed", "X-Project-Id": "p-other",
          "X-User-Id": "u", "X-Roles": "member,reader"}  # fmt: skip
LONG = "s" * 5000
# a weird store name or image id -> its status (what is no text 400, an unknown store 409, no
# image 404; "%2F" splits the path: no route)
WEIRD = {"%00": 400, "%ED%A0%80": 400, "%F0%9F%98%80": 400, "..": 409, "%2F": 404, "a%20b": 409}


def copy(**fields: Any) -> bytes:
    return json.dumps({"method": {"name": "copy-image"}, **fields}).encode()


def upload(store: str) -> Case:
    return Case("PUT", f"/v2/images/{Q}/file", 400, b"data",
                {**OCTETS, "X-Image-Meta-Store": store}, {}, False)  # fmt: skip


CASES: dict[str, Case] = {
    "detail-as-member": Case("GET", "/v2/info/stores/detail", 403, None, MEMBER),
    "detail-with-body": Case("GET", "/v2/info/stores/detail", 400, b"{}", JSON),
    "info-with-body": Case("GET", "/v2/info/stores", 400, b"{}", JSON),
    "info-post": Case("POST", "/v2/info/stores", 405, b"{}", JSON),
    "detail-put": Case("PUT", "/v2/info/stores/detail", 405, None, ACCEPT),
    "stores-get": Case("GET", f"/v2/stores/fast/{A}", 405, None, ACCEPT),
    "delete-unknown-store": Case("DELETE", f"/v2/stores/nowhere/{A}", 409, None, ACCEPT),
    "delete-long-store": Case("DELETE", f"/v2/stores/{LONG}/{A}", 409, None, ACCEPT),
    "delete-unknown-image": Case("DELETE", f"/v2/stores/slow/{UNKNOWN_ID}", 404, None, ACCEPT),
    "delete-bad-image": Case("DELETE", "/v2/stores/slow/nope", 404, None, ACCEPT),
    "delete-queued": Case("DELETE", f"/v2/stores/fast/{Q}", 409, None, ACCEPT),
    "delete-last-copy": Case("DELETE", f"/v2/stores/fast/{A}", 403, None, ACCEPT),
    "delete-not-there": Case("DELETE", f"/v2/stores/slow/{A}", 403, None, ACCEPT),
    "delete-as-member": Case("DELETE", f"/v2/stores/fast/{A}", 403, None, MEMBER),
    "delete-with-body": Case("DELETE", f"/v2/stores/fast/{A}", 400, b"x", JSON),
    "upload-unknown-store": upload("nowhere"),
    "upload-long-store": upload(LONG),
    "upload-empty-store": upload(""),
    "upload-reserved-store": upload("os_glance_staging_store"),
    "prefer-unknown": Case("GET", f"/v2/images/{A}/file?prefer=nowhere", 400, None, ACCEPT),
    "prefer-long": Case("GET", f"/v2/images/{A}/file?prefer={LONG}", 400, None, ACCEPT),
    "prefer-nul": Case("GET", f"/v2/images/{A}/file?prefer=%00", 400, None, ACCEPT),
    "prefer-surrogate": Case("GET", f"/v2/images/{A}/file?prefer=%ED%A0%80", 400, None, ACCEPT),
    "copy-unknown-store": Case("POST", f"/v2/images/{A}/import", 409, copy(stores=["x"]), JSON),
    "copy-present": Case("POST", f"/v2/images/{A}/import", 400, copy(stores=["fast"]), JSON),
    "copy-empty-stores": Case("POST", f"/v2/images/{A}/import", 400, copy(stores=[]), JSON),
    "copy-stores-and-all": Case(
        "POST", f"/v2/images/{A}/import", 400, copy(stores=["slow"], all_stores=True), JSON
    ),
    "copy-nul-store": Case("POST", f"/v2/images/{A}/import", 400, copy(stores=["\x00"]), JSON),
    "copy-queued": Case("POST", f"/v2/images/{Q}/import", 409, copy(stores=["slow"]), JSON),
    "copy-as-member": Case(
        "POST",
        f"/v2/images/{A}/import",
        403,
        copy(stores=["slow"]),
        {**MEMBER, "Content-Type": "application/json"},
    ),
    "copy-header-and-stores": Case(
        "POST",
        f"/v2/images/{A}/import",
        400,
        copy(stores=["slow"]),
        {**JSON, "X-Image-Meta-Store": "slow"},
    ),
    "import-header-unknown": Case(
        "POST",
        f"/v2/images/{Q}/import",
        409,
        json.dumps({"method": {"name": "web-download", "uri": "http://example.com/x"}}).encode(),
        {**JSON, "X-Image-Meta-Store": "nowhere"},
    ),
}
for i, (weird, status) in enumerate(WEIRD.items()):
    CASES[f"delete-weird-store-{i}"] = Case(
        "DELETE", f"/v2/stores/{weird}/{A}", status, None, ACCEPT
    )
    image_status = 400 if weird == "%ED%A0%80" else 404
    CASES[f"delete-weird-image-{i}"] = Case(
        "DELETE", f"/v2/stores/slow/{weird}", image_status, None, ACCEPT
    )


@dataclasses.dataclass
class World:
    api: Client
    ids: dict[str, str]
    db_url: str
    roots: Path

    def state(self) -> Any:
        files = {str(p): p.read_bytes() for p in sorted(self.roots.rglob("*")) if p.is_file()}
        return dump_database(self.db_url), files


@pytest.fixture
def world(stores_conf: cfg.ConfigOpts, clean_db: str, tmp_path: Path) -> World:
    api = Client(wsgi.load_app(stores_conf))
    queued = new_image(api, name="q")
    active = new_image(api, data=b"0123456789" * 100, name="a")
    return World(api, {"q": queued["id"], "a": active["id"]}, clean_db, tmp_path / "stores")


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_stores_input_is_refused_and_changes_nothing(world, name):
    case = CASES[name]
    before = world.state()
    resp = send(world.api.app, case, world.ids)
    check_error(name, resp, case.status)
    assert world.state() == before, f"{name} changed data"


@pytest.mark.first_pass
@pytest.mark.parametrize("accept", ["text/plain", "text/html"])
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_stores_error_page_in_any_type(world, name, accept):
    case = CASES[name]
    case = dataclasses.replace(case, headers={**case.headers, "Accept": accept})
    resp = send(world.api.app, case, world.ids)
    assert resp.status_int == case.status, f"{name}: {resp.status}"
    assert resp.content_type == accept
