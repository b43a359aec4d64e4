"""Hostile input through the whole app in process: every case gets its exact 4xx (never a
500) and changes nothing, neither in the database (every row of every table compared) nor in
the store.

The last tests are faults rather than input: a store that fills up (a real tmpfs) gives 413 and
the image stays usable; a database that goes away (a private PostgreSQL cluster, stopped and
started again) gives 503 and the image recovers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webob
from sqlalchemy import text

from imgreg.cmd.manage import db_sync
from tests.support import dbs
from tests.support.client import UNKNOWN_ID, Client, client_with, new_image, stored_files
from tests.support.server import free_port

Q = "{q}"  # a queued image with a property and a tag
A = "{a}"  # an active image with data and one member
JSON = {"Content-Type": "application/json"}
PATCH21 = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
PATCH20 = {"Content-Type": "application/openstack-images-v2.0-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}
BODY_LIMIT = 1024 * 1024  # max_request_body_size (the default)
VALUE_LIMIT = 65535  # max_property_value_bytes (the default)


def nested(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


def op(path: str, value: Any = "x", kind: str = "add") -> bytes:
    return json.dumps([{"op": kind, "path": path, "value": value}]).encode()


@dataclasses.dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    body: bytes | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    environ: dict[str, str] = dataclasses.field(default_factory=dict)
    # The data arrived and was refused while streaming: the image went queued → saving →
    # queued, which leaves it as it was except for its update time.
    streamed: bool = False


CASES: dict[str, Case] = {
    # -- POST /v2/images: what the body is ------------------------------------------------
    "create-malformed-json": Case("POST", "/v2/images", 400, b'{"name": ', JSON),
    "create-trailing-garbage": Case("POST", "/v2/images", 400, b'{"name": "x"} x', JSON),
    "create-json-array": Case("POST", "/v2/images", 400, b'[{"name": "x"}]', JSON),
    "create-json-string": Case("POST", "/v2/images", 400, b'"image"', JSON),
    "create-json-number": Case("POST", "/v2/images", 400, b"42", JSON),
    "create-json-null": Case("POST", "/v2/images", 400, b"null", JSON),
    "create-json-true": Case("POST", "/v2/images", 400, b"true", JSON),
    "create-deep-arrays": Case("POST", "/v2/images", 400, nested(100_000), JSON),
    "create-deep-objects": Case(
        "POST", "/v2/images", 400, b'{"a":' * 100_000 + b"1" + b"}" * 100_000, JSON
    ),
    "create-deep-in-value": Case(
        "POST", "/v2/images", 400, b'{"name": ' + nested(5_000) + b"}", JSON
    ),
    "create-invalid-utf8": Case("POST", "/v2/images", 400, b'{"name": "\xff\xfe"}', JSON),
    "create-overlong-utf8": Case("POST", "/v2/images", 400, b'{"name": "\xc0\xaf"}', JSON),
    "create-lone-surrogate": Case("POST", "/v2/images", 400, b'{"name": "a\\ud800"}', JSON),
    "create-lone-low-surrogate": Case("POST", "/v2/images", 400, b'{"k": "\\udc00"}', JSON),
    "create-nul-in-name": Case("POST", "/v2/images", 400, b'{"name": "a\\u0000b"}', JSON),
    "create-nul-in-key": Case("POST", "/v2/images", 400, b'{"a\\u0000b": "v"}', JSON),
    "create-nul-in-value": Case("POST", "/v2/images", 400, b'{"k": "v\\u0000"}', JSON),
    "create-4byte-name": Case("POST", "/v2/images", 400, '{"name": "\U0001f600"}'.encode(), JSON),
    "create-4byte-key": Case("POST", "/v2/images", 400, '{"\U0001f600": "v"}'.encode(), JSON),
    "create-4byte-value": Case("POST", "/v2/images", 400, '{"k": "\U0001f600"}'.encode(), JSON),
    "create-name-256": Case("POST", "/v2/images", 400, json.dumps({"name": "n" * 256}).encode()),
    "create-key-256": Case("POST", "/v2/images", 400, json.dumps({"k" * 256: "v"}).encode()),
    "create-value-too-long": Case(
        "POST", "/v2/images", 400, json.dumps({"k": "v" * (VALUE_LIMIT + 1)}).encode()
    ),
    "create-value-too-long-3-byte-chars": Case(
        "POST", "/v2/images", 400, json.dumps({"k": "\u20ac" * (VALUE_LIMIT // 3 + 1)}).encode()
    ),
    "create-body-over-limit": Case(
        "POST", "/v2/images", 413, json.dumps({"name": "x", "pad": " " * BODY_LIMIT}).encode()
    ),
    "create-huge-content-length-no-body": Case(
        "POST", "/v2/images", 413, None, JSON, {"CONTENT_LENGTH": str(2**40)}
    ),
    "create-form-encoded": Case(
        "POST",
        "/v2/images",
        400,
        b"name=x",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    "create-tags-not-a-list": Case("POST", "/v2/images", 400, b'{"tags": "a,b"}', JSON),
    "create-tag-not-a-string": Case("POST", "/v2/images", 400, b'{"tags": [1]}', JSON),
    "create-tag-nul": Case("POST", "/v2/images", 400, b'{"tags": ["a\\u0000"]}', JSON),
    "create-tag-4byte": Case("POST", "/v2/images", 400, '{"tags": ["\U0001f600"]}'.encode()),
    "create-tag-256": Case("POST", "/v2/images", 400, json.dumps({"tags": ["t" * 256]}).encode()),
    "create-bad-id": Case("POST", "/v2/images", 400, b'{"id": "../../etc/passwd"}', JSON),
    "create-id-not-a-string": Case("POST", "/v2/images", 400, b'{"id": 7}', JSON),
    "create-min-ram-huge": Case("POST", "/v2/images", 400, b'{"min_ram": 1' + b"0" * 30 + b"}"),
    "create-min-ram-5000-digits": Case(
        "POST", "/v2/images", 400, b'{"min_ram": 1' + b"0" * 5000 + b"}"
    ),
    "create-min-disk-infinity": Case("POST", "/v2/images", 400, b'{"min_disk": 1e999}', JSON),
    "create-min-disk-nan": Case("POST", "/v2/images", 400, b'{"min_disk": NaN}', JSON),
    "create-property-object": Case("POST", "/v2/images", 400, b'{"k": {"a": 1}}', JSON),
    "create-locations": Case(
        "POST", "/v2/images", 403, b'{"locations": [{"url": "file:///etc/passwd"}]}', JSON
    ),
    "create-status": Case("POST", "/v2/images", 403, b'{"status": "active"}', JSON),
    # -- PATCH /v2/images/{id} -------------------------------------------------------------
    "patch-json-content-type": Case("PATCH", f"/v2/images/{Q}", 415, op("/name"), JSON),
    "patch-no-content-type": Case("PATCH", f"/v2/images/{Q}", 415, op("/name")),
    "patch-malformed-json": Case("PATCH", f"/v2/images/{Q}", 400, b"[{", PATCH21),
    "patch-json-object": Case("PATCH", f"/v2/images/{Q}", 400, b'{"op": "add"}', PATCH21),
    "patch-json-null": Case("PATCH", f"/v2/images/{Q}", 400, b"null", PATCH21),
    "patch-json-scalar": Case("PATCH", f"/v2/images/{Q}", 400, b"1", PATCH21),
    "patch-empty-body": Case("PATCH", f"/v2/images/{Q}", 400, b"", PATCH21),
    "patch-deep-arrays": Case("PATCH", f"/v2/images/{Q}", 400, nested(100_000), PATCH21),
    "patch-ops-not-objects": Case("PATCH", f"/v2/images/{Q}", 400, b"[1, 2]", PATCH21),
    "patch-unknown-op": Case("PATCH", f"/v2/images/{Q}", 400, op("/name", kind="move"), PATCH21),
    "patch-nested-path": Case("PATCH", f"/v2/images/{Q}", 400, op("/a/b"), PATCH21),
    "patch-empty-path": Case("PATCH", f"/v2/images/{Q}", 400, op("/"), PATCH21),
    "patch-v20-two-ops": Case(
        "PATCH", f"/v2/images/{Q}", 400, b'[{"add": "/a", "remove": "/b", "value": 1}]', PATCH20
    ),
    "patch-invalid-utf8": Case(
        "PATCH", f"/v2/images/{Q}", 400, b'[{"op": "add", "path": "/k", "value": "\xff"}]', PATCH21
    ),
    "patch-nul-in-value": Case("PATCH", f"/v2/images/{Q}", 400, op("/name", "a\x00"), PATCH21),
    "patch-nul-in-key": Case("PATCH", f"/v2/images/{Q}", 400, op("/a\x00b"), PATCH21),
    "patch-4byte-key": Case("PATCH", f"/v2/images/{Q}", 400, op("/\U0001f600"), PATCH21),
    "patch-4byte-value": Case("PATCH", f"/v2/images/{Q}", 400, op("/k2", "\U0001f600"), PATCH21),
    "patch-surrogate-key": Case(
        "PATCH", f"/v2/images/{Q}", 400, b'[{"op":"add","path":"/\\ud800","value":"x"}]', PATCH21
    ),
    "patch-surrogate-value": Case(
        "PATCH", f"/v2/images/{Q}", 400, b'[{"op":"add","path":"/k","value":"\\udfff"}]', PATCH21
    ),
    "patch-name-256": Case("PATCH", f"/v2/images/{Q}", 400, op("/name", "n" * 256), PATCH21),
    "patch-key-256": Case("PATCH", f"/v2/images/{Q}", 400, op("/" + "k" * 256), PATCH21),
    "patch-value-too-long": Case(
        "PATCH", f"/v2/images/{Q}", 400, op("/k2", "v" * (VALUE_LIMIT + 1)), PATCH21
    ),
    "patch-body-over-limit": Case(
        "PATCH", f"/v2/images/{Q}", 413, op("/k2", "v" * BODY_LIMIT), PATCH21
    ),
    "patch-huge-content-length": Case(
        "PATCH", f"/v2/images/{Q}", 413, None, PATCH21, {"CONTENT_LENGTH": str(10**15)}
    ),
    "patch-tags-nul": Case("PATCH", f"/v2/images/{Q}", 400, op("/tags", ["a\x00"]), PATCH21),
    "patch-tags-256": Case("PATCH", f"/v2/images/{Q}", 400, op("/tags", ["t" * 256]), PATCH21),
    "patch-tags-not-strings": Case("PATCH", f"/v2/images/{Q}", 400, op("/tags", [{}]), PATCH21),
    "patch-min-ram-2**40": Case("PATCH", f"/v2/images/{Q}", 400, op("/min_ram", 2**40), PATCH21),
    "patch-min-ram-negative": Case("PATCH", f"/v2/images/{Q}", 400, op("/min_ram", -1), PATCH21),
    "patch-id": Case("PATCH", f"/v2/images/{Q}", 403, op("/id", UNKNOWN_ID, "replace"), PATCH21),
    "patch-status": Case("PATCH", f"/v2/images/{Q}", 403, op("/status", "active"), PATCH21),
    "patch-remove-missing": Case(
        "PATCH", f"/v2/images/{Q}", 409, op("/nope", kind="remove"), PATCH21
    ),
    "patch-bad-uuid": Case("PATCH", "/v2/images/not-a-uuid", 404, op("/name"), PATCH21),
    # -- GET /v2/images: the query string --------------------------------------------------
    "list-limit-word": Case("GET", "/v2/images?limit=many", 400),
    "list-limit-negative": Case("GET", "/v2/images?limit=-1", 400),
    "list-limit-float": Case("GET", "/v2/images?limit=1e3", 400),
    "list-limit-5000-digits": Case("GET", "/v2/images?limit=1" + "0" * 5000, 400),
    "list-limit-duplicated-last-bad": Case("GET", "/v2/images?limit=1&limit=x", 400),
    "list-limit-duplicated-last-good": Case("GET", "/v2/images?limit=x&limit=1", 200),
    "list-marker-not-uuid": Case("GET", "/v2/images?marker=not-a-uuid", 400),
    "list-marker-unknown": Case("GET", f"/v2/images?marker={UNKNOWN_ID}", 400),
    "list-marker-nul": Case("GET", "/v2/images?marker=%00", 400),
    "list-marker-traversal": Case("GET", "/v2/images?marker=..%2F..%2Fetc", 400),
    "list-marker-huge": Case("GET", "/v2/images?marker=" + "a" * 10_000, 400),
    "list-sort-key-unknown": Case("GET", "/v2/images?sort_key=password", 400),
    "list-sort-dir-unknown": Case("GET", "/v2/images?sort_dir=sideways", 400),
    "list-sort-new-bad-dir": Case("GET", "/v2/images?sort=name:up", 400),
    "list-sort-mixed-syntax": Case("GET", "/v2/images?sort=name&sort_key=size", 400),
    "list-size-min-word": Case("GET", "/v2/images?size_min=big", 400),
    "list-size-max-2**64": Case("GET", f"/v2/images?size_max={2**64}", 400),
    "list-created-at-garbage": Case("GET", "/v2/images?created_at=gt:yesterday", 400),
    "list-unclosed-quote": Case("GET", '/v2/images?name=in:"a,b', 400),
    "list-unknown-operator": Case("GET", "/v2/images?name=like:%25", 400),
    "list-visibility-unknown": Case("GET", "/v2/images?visibility=everyone", 400),
    "list-member-status-unknown": Case("GET", "/v2/images?member_status=maybe", 400),
    "list-os-hidden-unknown": Case("GET", "/v2/images?os_hidden=maybe", 400),
    "list-protected-unknown": Case("GET", "/v2/images?protected=1", 400),
    "list-changes-since": Case("GET", "/v2/images?changes-since=2020-01-01", 400),
    "list-nul-in-filter": Case("GET", "/v2/images?name=a%00b", 400),
    "list-nul-in-key": Case("GET", "/v2/images?a%00b=1", 400),
    "list-invalid-utf8-value": Case("GET", "/v2/images?name=%ff%fe", 400),
    "list-invalid-utf8-key": Case("GET", "/v2/images?%c0%af=1", 400),
    "list-4byte-filter": Case("GET", "/v2/images?name=%F0%9F%98%80", 200),
    "list-unknown-parameter": Case("GET", "/v2/images?no_such_thing=1", 200),
    "list-huge-property-filter": Case("GET", "/v2/images?k=" + "v" * 10_000, 200),
    "list-min-ram-word": Case("GET", "/v2/images?min_ram=lots", 400),
    "list-body-on-get": Case("GET", "/v2/images", 200, b"{}", JSON),
    # -- ids and path tricks -------------------------------------------------------------
    "show-not-uuid": Case("GET", "/v2/images/not-a-uuid", 404),
    "show-dotdot": Case("GET", "/v2/images/..", 404),
    "show-encoded-dotdot": Case("GET", "/v2/images/%2e%2e", 404),
    "show-encoded-traversal": Case("GET", "/v2/images/..%2f..%2fetc%2fpasswd", 404),
    "show-double-encoded": Case("GET", "/v2/images/%252e%252e%252f", 404),
    "show-very-long-id": Case("GET", "/v2/images/" + "a" * 20_000, 404),
    "show-nul-in-id": Case("GET", f"/v2/images/{UNKNOWN_ID[:-1]}%00", 404),
    "show-invalid-utf8-id": Case("GET", "/v2/images/%ff%fe", 400),
    "show-4byte-id": Case("GET", "/v2/images/%F0%9F%98%80", 404),
    "show-unknown-uuid": Case("GET", f"/v2/images/{UNKNOWN_ID}", 404),
    "show-trailing-slash-junk": Case("GET", f"/v2/images/{Q}/junk", 404),
    "delete-not-uuid": Case("DELETE", "/v2/images/%2e%2e%2f", 404),
    "delete-encoded-slash-file": Case("DELETE", f"/v2/images/{Q}%2Ffile", 405),
    "upload-not-uuid": Case("PUT", "/v2/images/../file", 404, b"data", OCTETS),
    "download-not-uuid": Case("GET", "/v2/images/x%00/file", 404),
    "show-body-on-get": Case("GET", f"/v2/images/{Q}", 400, b'{"name": "x"}', JSON),
    "delete-with-body": Case("DELETE", f"/v2/images/{Q}", 400, b"{}", JSON),
    "delete-chunked-body": Case(
        "DELETE", f"/v2/images/{Q}", 400, b"", {"Transfer-Encoding": "chunked"}
    ),
    "download-with-body": Case("GET", f"/v2/images/{A}/file", 400, b"x", OCTETS),
    "deactivate-with-body": Case("POST", f"/v2/images/{A}/actions/deactivate", 400, b"{}", JSON),
    "unknown-version": Case("GET", "/v9/images", 300),
    "bad-minor-version": Case("GET", "/v2.x/images", 300),
    "huge-minor-version": Case("GET", "/v2." + "9" * 5000 + "/images", 300),
    "newline-in-id": Case("GET", "/v2/images/%0A", 404),
    "method-override-query": Case("GET", f"/v2/images/{Q}?_method=DELETE", 200),
    "method-override-form": Case(
        "POST",
        f"/v2/images/{A}/members",
        400,
        b"--x--",
        {"Content-Type": "multipart/form-data; boundary="},
    ),
    # -- headers -------------------------------------------------------------------------
    "request-id-oversized": Case(
        "GET", f"/v2/images/{Q}", 200, headers={"X-Openstack-Request-Id": "r" * 100_000}
    ),
    "request-id-crlf": Case(
        "GET", f"/v2/images/{Q}", 200, headers={"X-Openstack-Request-Id": "a\r\nSet-Cookie: x"}
    ),
    "request-id-nul": Case(
        "GET", f"/v2/images/{Q}", 200, headers={"X-Openstack-Request-Id": "a\x00b"}
    ),
    "accept-garbage": Case("GET", f"/v2/images/{UNKNOWN_ID}", 404, headers={"Accept": ";;q=x,"}),
    "content-type-garbage": Case("POST", "/v2/images", 400, b"[]", {"Content-Type": ";;;"}),
    # -- image data ----------------------------------------------------------------------
    "upload-text-plain": Case(
        "PUT", f"/v2/images/{Q}/file", 415, b"data", {"Content-Type": "text/plain"}
    ),
    "upload-no-content-type": Case("PUT", f"/v2/images/{Q}/file", 415, b"data"),
    "upload-size-header-word": Case(
        "PUT", f"/v2/images/{Q}/file", 400, b"data", {**OCTETS, "x-openstack-image-size": "four"}
    ),
    "upload-size-header-negative": Case(
        "PUT", f"/v2/images/{Q}/file", 400, b"data", {**OCTETS, "x-openstack-image-size": "-4"}
    ),
    "upload-size-header-mismatch": Case(
        "PUT",
        f"/v2/images/{Q}/file",
        400,
        b"data",
        {**OCTETS, "x-openstack-image-size": "9"},
        streamed=True,
    ),
    "upload-size-header-5000-digits": Case(
        "PUT",
        f"/v2/images/{Q}/file",
        400,
        b"data",
        {**OCTETS, "x-openstack-image-size": "9" * 5000},
    ),
    "upload-huge-content-length-no-body": Case(
        "PUT", f"/v2/images/{Q}/file", 413, None, OCTETS, {"CONTENT_LENGTH": str(2**50)}, True
    ),
    "upload-short-body": Case(
        "PUT", f"/v2/images/{Q}/file", 400, b"abc", OCTETS, {"CONTENT_LENGTH": "10"}, True
    ),
    "upload-to-active": Case("PUT", f"/v2/images/{A}/file", 409, b"data", OCTETS),
    "range-garbage": Case("GET", f"/v2/images/{A}/file", 416, headers={"Range": "bytes=x-y"}),
    "range-reversed": Case("GET", f"/v2/images/{A}/file", 416, headers={"Range": "bytes=9-1"}),
    "range-past-end": Case("GET", f"/v2/images/{A}/file", 416, headers={"Range": "bytes=4096-"}),
    "range-huge-number": Case(
        "GET", f"/v2/images/{A}/file", 416, headers={"Range": f"bytes={'9' * 5000}-"}
    ),
    "range-multiple": Case("GET", f"/v2/images/{A}/file", 400, headers={"Range": "bytes=0-1,3-4"}),
    "range-other-unit": Case("GET", f"/v2/images/{A}/file", 416, headers={"Range": "items=0-1"}),
    "content-range-garbage": Case(
        "GET", f"/v2/images/{A}/file", 416, headers={"Content-Range": "bytes a-b/*"}
    ),
    # -- tags ----------------------------------------------------------------------------
    "tag-nul": Case("PUT", f"/v2/images/{Q}/tags/a%00b", 400),
    "tag-4byte": Case("PUT", f"/v2/images/{Q}/tags/%F0%9F%98%80", 400),
    "tag-256": Case("PUT", f"/v2/images/{Q}/tags/" + "t" * 256, 400),
    "tag-invalid-utf8": Case("PUT", f"/v2/images/{Q}/tags/%ff", 400),
    "tag-lone-surrogate-cesu": Case("PUT", f"/v2/images/{Q}/tags/%ED%A0%80", 400),
    "tag-on-bad-uuid": Case("PUT", "/v2/images/nope/tags/x", 404),
    "tag-delete-missing": Case("DELETE", f"/v2/images/{Q}/tags/" + "t" * 10_000, 404),
    "tag-with-body": Case("PUT", f"/v2/images/{Q}/tags/x", 400, b"{}", JSON),
    # -- members -------------------------------------------------------------------------
    "member-empty": Case("POST", f"/v2/images/{A}/members", 400, b'{"member": ""}', JSON),
    "member-huge": Case(
        "POST", f"/v2/images/{A}/members", 400, json.dumps({"member": "m" * 256}).encode(), JSON
    ),
    "member-not-string": Case("POST", f"/v2/images/{A}/members", 400, b'{"member": 1}', JSON),
    "member-null": Case("POST", f"/v2/images/{A}/members", 400, b'{"member": null}', JSON),
    "member-nul": Case("POST", f"/v2/images/{A}/members", 400, b'{"member": "a\\u0000"}', JSON),
    "member-4byte": Case(
        "POST", f"/v2/images/{A}/members", 400, '{"member": "\U0001f600"}'.encode(), JSON
    ),
    "member-body-array": Case("POST", f"/v2/images/{A}/members", 400, b'["p"]', JSON),
    "member-no-body": Case("POST", f"/v2/images/{A}/members", 400),
    "member-deep-json": Case("POST", f"/v2/images/{A}/members", 400, nested(100_000), JSON),
    "member-show-huge": Case("GET", f"/v2/images/{A}/members/" + "m" * 10_000, 404),
    "member-show-nul": Case("GET", f"/v2/images/{A}/members/a%00b", 404),
    "member-status-unknown": Case(
        "PUT", f"/v2/images/{A}/members/proj-b", 400, b'{"status": "owned"}', JSON
    ),
    "member-status-not-string": Case(
        "PUT", f"/v2/images/{A}/members/proj-b", 400, b'{"status": ["accepted"]}', JSON
    ),
    "member-delete-unknown": Case("DELETE", f"/v2/images/{A}/members/" + "m" * 300, 404),
    "member-update-nul": Case(
        "PUT", f"/v2/images/{A}/members/a%00", 404, b'{"status": "accepted"}', JSON
    ),
    # -- identity headers (trusted, but still never a 500) -------------------------------
    "project-id-nul": Case(
        "GET", "/v2/images", 400, headers={"X-Project-Id": "p\x00", "X-Roles": "member"}
    ),
    "project-id-too-long-for-owner": Case(
        "POST", "/v2/images", 400, b"{}", {**JSON, "X-Project-Id": "p" * 300, "X-Roles": "member"}
    ),
}
IMAGE_COLUMNS = ("id", "name", "status", "visibility", "protected", "os_hidden", "owner",
                 "container_format", "disk_format", "min_disk", "min_ram", "size",
                 "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
                 "deleted")  # fmt: skip


# -- the harness ------------------------------------------------------------------------------
def send(app: Any, case: Case, ids: dict[str, str]) -> webob.Response:
    request = webob.Request.blank(case.path.format(**ids), method=case.method)
    for name, value in case.headers.items():
        request.headers[name] = value
    if case.body is not None:
        request.body = case.body
    request.environ.update(case.environ)
    if "CONTENT_LENGTH" in case.environ:
        request.environ["wsgi.input"] = io.BytesIO(case.body or b"")
    return request.get_response(app)


def dump_database(url: str, streamed: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order; with ``streamed``, of the images table
    only the columns an aborted upload must leave as they were."""
    dump = {}
    with dbs.engine(url).connect() as conn:
        for table in dbs.TABLES:
            rows = [row._asdict() for row in conn.execute(text(f"SELECT * FROM {table}"))]
            if streamed and table == "images":
                rows = [{k: row[k] for k in IMAGE_COLUMNS} for row in rows]
            dump[table] = sorted((tuple(row.items()) for row in rows), key=repr)
    return dump


@dataclasses.dataclass
class World:
    api: Client
    ids: dict[str, str]
    db_url: str
    store_dir: Path

    def state(self, streamed: bool = False) -> tuple[Any, ...]:
        files = {
            name: (self.store_dir / name).read_bytes() for name in stored_files(self.store_dir)
        }
        return dump_database(self.db_url, streamed), files


@pytest.fixture(scope="class")
def hostile_api(class_conf: Any) -> Client:
    return client_with(
        class_conf, max_request_body_size=BODY_LIMIT, max_property_value_bytes=VALUE_LIMIT
    )


@pytest.fixture
def world(class_conf: Any, hostile_api: Client) -> World:
    """Two new images for each test (queued, with a property and a tag; active, shared with
    proj-b) in its class's app and database; a case still compares every row and file."""
    queued = new_image(hostile_api, name="q", k="v", tags=["t"])
    active = new_image(hostile_api, data=b"0123456789" * 100, name="a")
    resp = hostile_api.post(f"/v2/images/{active['id']}/members", {"member": "proj-b"})
    assert resp.status_int == 200, resp.text
    ids = {"q": queued["id"], "a": active["id"]}
    store_dir = Path(class_conf.glance_store.filesystem_store_datadir)
    return World(hostile_api, ids, class_conf.database.connection, store_dir)


def test_at_least_sixty_cases():
    assert len(CASES) >= 60


class TestHostileInput:
    """One app and database for the class (``class_conf``): building the app and emptying the
    database were most of each case's time."""

    @pytest.mark.parametrize("name", list(CASES))
    def test_hostile_request_is_refused_and_changes_nothing(self, world, name):
        case = CASES[name]
        before = world.state(case.streamed)
        resp = send(world.api.app, case, world.ids)
        assert resp.status_int == case.status, f"{name}: {resp.status} {resp.text[:300]}"
        assert world.state(case.streamed) == before, f"{name} changed data"
        if resp.status_int >= 400:
            assert f"{resp.status_int} " in resp.text[:200], resp.text[:200]
        assert "Traceback" not in resp.text

    @pytest.mark.parametrize(
        "given", ["r" * 65, "a\r\nb", "a b", "a\x00", "ü", "req-" + "x" * 100_000]
    )
    def test_bad_request_ids_are_replaced_not_echoed(self, world, given):
        resp = world.api.get(
            f"/v2/images/{world.ids['q']}", headers={"X-Openstack-Request-Id": given}
        )
        assert resp.status_int == 200
        returned = resp.headers["x-openstack-request-id"]
        assert returned.startswith("req-") and len(returned) == 40

    def test_non_ascii_path_segments_are_utf8(self, world):
        """A tag in the path is percent-encoded UTF-8 and is stored as the text it encodes."""
        queued = world.ids["q"]
        assert world.api.request("PUT", f"/v2/images/{queued}/tags/caf%C3%A9").status_int == 204
        assert "café" in world.api.get(f"/v2/images/{queued}").json["tags"]
        assert world.api.delete(f"/v2/images/{queued}/tags/caf%C3%A9").status_int == 204

    def test_images_still_usable_after_the_barrage(self, world):
        for case in CASES.values():
            send(world.api.app, case, world.ids)
        queued = world.ids["q"]
        assert world.api.put_file(queued, b"fine").status_int == 204
        image = world.api.get(f"/v2/images/{queued}").json
        assert (image["status"], image["size"], image["k"]) == ("active", 4, "v")
        assert world.api.get(f"/v2/images/{world.ids['a']}/file").body == b"0123456789" * 100


# -- store full: a real small filesystem ------------------------------------------------------
@pytest.fixture
def tmpfs_dir() -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.fail("the ENOSPC test mounts a tmpfs and needs root and mount(8)")
    directory = Path(tempfile.mkdtemp(prefix="imgreg-tmpfs-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(directory)], check=True
    )
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)
        directory.rmdir()


def test_store_full_is_413_and_the_image_stays_usable(conf, tmpfs_dir):
    api = client_with(conf, **{"glance_store.filesystem_store_datadir": str(tmpfs_dir)})
    image = api.create(name="big")
    resp = api.put_file(image["id"], os.urandom(6 * 1024 * 1024))
    assert resp.status_int == 413, resp.text
    assert "full" in resp.text
    after = api.get(f"/v2/images/{image['id']}").json
    assert (after["status"], after["size"], after["checksum"]) == ("queued", None, None)
    assert stored_files(tmpfs_dir) == []
    assert api.get(f"/v2/images/{image['id']}/file").status_int == 204
    assert api.put_file(image["id"], b"small enough").status_int == 204
    assert api.get(f"/v2/images/{image['id']}/file").body == b"small enough"
    assert stored_files(tmpfs_dir) == [image["id"]]


# -- database outage: a private PostgreSQL cluster that goes away and comes back --------------
def pg_bindir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.fail("the database outage test needs PostgreSQL's server binaries (pg_ctl)")
    return found[-1].parent


class PrivatePostgres:
    """A throw-away cluster in a temporary directory, listening on 127.0.0.1:<port> only."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.data = directory / "data"
        self.bindir = pg_bindir()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.directory.chmod(0o777)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-o", options,
                  "-l", str(self.directory / "log"))  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")


@pytest.fixture
def outage_db() -> Iterator[PrivatePostgres]:
    directory = Path(tempfile.mkdtemp(prefix="imgreg-pg-"))
    pg = PrivatePostgres(directory, free_port())
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            pg.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_database_outage_is_503_and_images_recover(conf, store_dir, outage_db):
    db_sync(outage_db.url)
    api = client_with(conf, **{"database.connection": outage_db.url})
    image = api.create(name="survivor")
    path = f"/v2/images/{image['id']}"

    outage_db.stop()
    responses = {
        "create": api.post("/v2/images", {"name": "during"}),
        "show": api.get(path),
        "list": api.get("/v2/images"),
        "patch": api.request("PATCH", path, raw=op("/name", "renamed", "replace"), headers=PATCH21),
        "upload": api.put_file(image["id"], b"data during the outage"),
        "delete": api.delete(path),
    }
    for name, resp in responses.items():
        assert resp.status_int == 503, f"{name}: {resp.status} {resp.text[:200]}"
        assert "database" in resp.text and "Traceback" not in resp.text
    assert stored_files(store_dir) == []

    outage_db.start()
    after = api.get(path)
    assert after.status_int == 200, after.text
    assert (after.json["name"], after.json["status"]) == ("survivor", "queued")
    assert api.put_file(image["id"], b"data after the outage").status_int == 204
    assert api.get(f"{path}/file").body == b"data after the outage"
    names = [i["name"] for i in api.get("/v2/images").json["images"]]
    assert names == ["survivor"]
