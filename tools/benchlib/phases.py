"""The API request phases: check, seed, schema/show/list/create/PATCH at each concurrency,
create+upload+delete cycles, and the cleanup."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

from .client import BenchError, Conn, put_chunked
from .load import load_run
from .payload import Payload
from .procs import process_tree, rss_mib
from .sizes import CONCURRENCIES, CYCLE_CONCURRENCY, SEED_CONCURRENCY, Sizes
from .target import Target

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
PUBLIC_EVERY = 4  # one seeded image in this many is public


def phase_check(target: Target, sizes: Sizes) -> dict[str, Any]:
    conn = Conn(target.ep)
    try:
        schema = conn.json(200, "GET", "/v2/schemas/image")
        if schema.get("name") != "image":
            raise BenchError(f"GET /v2/schemas/image: unexpected body {str(schema)[:200]}")
        images = conn.json(200, "GET", "/v2/images?limit=1")
        if "images" not in images:
            raise BenchError("GET /v2/images: no 'images' in the body")
    finally:
        conn.close()
    return {"pids": process_tree(target.roots), "serverrss_mib": rss_mib(target.roots)}


def phase_seed(target: Target, sizes: Sizes) -> dict[str, Any]:
    names = [f"bench-{target.run_id}-{i:05d}" for i in range(sizes.images)]
    ids: list[str | None] = [None] * sizes.images

    def create(conn: Conn, i: int) -> None:
        # a quarter public (the bench's identity is an administrator), for the public list
        visibility = "public" if i % PUBLIC_EVERY == 1 else None
        body = target.image_body(names[i], "raw" if i % 2 == 0 else "qcow2", visibility)
        image = conn.json(201, "POST", "/v2/images", body=body)
        target.track(image["id"])
        ids[i] = image["id"]

    result = load_run(target, "seed", SEED_CONCURRENCY, sizes.images, 3600.0, create, warmup=False)
    target.seeded = [i for i in ids if i is not None]
    if len(target.seeded) < sizes.images:
        raise BenchError(f"seed: only {len(target.seeded)} of {sizes.images} images created")
    return result


def _measure(
    target: Target, phase: str, count: int, sizes: Sizes, work: Callable[[Conn, int], None]
) -> dict[str, Any]:
    return {
        f"c{c}": load_run(target, phase, c, count, sizes.run_seconds, work) for c in CONCURRENCIES
    }


def phase_schema(target: Target, sizes: Sizes) -> dict[str, Any]:
    def get(conn: Conn, i: int) -> None:
        conn.expect(200, "GET", "/v2/schemas/image")

    return _measure(target, "schema", sizes.schema, sizes, get)


def show_phase(target: Target, phase: str, ids: list[str], sizes: Sizes) -> dict[str, Any]:
    """GETs of ``ids`` in turn, each checked to be the image asked for."""

    def get(conn: Conn, i: int) -> None:
        image_id = ids[i % len(ids)]
        image = conn.json(200, "GET", f"/v2/images/{image_id}")
        if image.get("id") != image_id:
            raise BenchError(f"GET /v2/images/{image_id}: wrong image {image.get('id')}")

    return _measure(target, phase, sizes.show, sizes, get)


def phase_show(target: Target, sizes: Sizes) -> dict[str, Any]:
    return show_phase(target, "show", target.seeded, sizes)


def _list_phase(
    target: Target, phase: str, query: str, count: int, want: int, sizes: Sizes
) -> dict[str, Any]:
    def get(conn: Conn, i: int) -> None:
        body = conn.json(200, "GET", f"/v2/images?{query}")
        got = len(body.get("images", []))
        if got < want:
            raise BenchError(f"GET /v2/images?{query}: {got} images, wanted at least {want}")

    result = _measure(target, phase, count, sizes, get)
    result["query"] = query
    return result


def phase_list25(target: Target, sizes: Sizes) -> dict[str, Any]:
    return _list_phase(target, "list25", "limit=25", sizes.list25, 25, sizes)


def phase_list1000(target: Target, sizes: Sizes) -> dict[str, Any]:
    want = min(1000, len(target.seeded))
    return _list_phase(target, "list1000", "limit=1000", sizes.list1000, want, sizes)


def phase_filtered(target: Target, sizes: Sizes) -> dict[str, Any]:
    query = "disk_format=raw&sort=name:asc&limit=25"
    return _list_phase(target, "filtered", query, sizes.filtered, 25, sizes)


def phase_public(target: Target, sizes: Sizes) -> dict[str, Any]:
    """Issue 24's filtered, sorted list: one visibility and one status, newest first (the
    seeded images have no data: ``queued`` stands for ``active``)."""
    query = "visibility=public&status=queued&sort=created_at:desc&limit=25"
    return _list_phase(target, "public", query, sizes.filtered, 25, sizes)


def phase_create(target: Target, sizes: Sizes) -> dict[str, Any]:
    def create(conn: Conn, i: int) -> None:
        name = f"bench-{target.run_id}-new-{uuid.uuid4().hex[:8]}"
        image = conn.json(201, "POST", "/v2/images", body=target.image_body(name))
        target.track(image["id"])

    return _measure(target, "create", sizes.create, sizes, create)


def patch_phase(target: Target, phase: str, ids: list[str], sizes: Sizes) -> dict[str, Any]:
    """PATCHes of the name of ``ids`` in turn, each to a new name, checked in the answer."""
    serial = itertools.count()

    def patch(conn: Conn, i: int) -> None:
        image_id = ids[i % len(ids)]
        name = f"bench-{target.run_id}-p{next(serial):06d}"
        ops = [{"op": "replace", "path": "/name", "value": name}]
        image = conn.json(
            200, "PATCH", f"/v2/images/{image_id}", body=ops, headers={"Content-Type": PATCH_TYPE}
        )
        if image.get("name") != name:
            raise BenchError(f"PATCH /v2/images/{image_id}: name is {image.get('name')!r}")

    return _measure(target, phase, sizes.patch, sizes, patch)


def phase_patch(target: Target, sizes: Sizes) -> dict[str, Any]:
    return patch_phase(target, "patch", target.seeded, sizes)


def phase_cycles(target: Target, sizes: Sizes, payload: Payload) -> dict[str, Any]:
    block = payload.block

    def cycle(conn: Conn, i: int) -> None:
        name = f"bench-{target.run_id}-cycle-{uuid.uuid4().hex[:8]}"
        image = conn.json(201, "POST", "/v2/images", body=target.image_body(name))
        image_id = image["id"]
        try:
            put_chunked(target.ep, f"/v2/images/{image_id}/file", iter((block,)))
            conn.expect(204, "DELETE", f"/v2/images/{image_id}")
        except Exception:
            target.track(image_id)  # cleanup tries again
            raise

    return load_run(target, "cycles", CYCLE_CONCURRENCY, sizes.cycles, sizes.run_seconds * 2, cycle)


def cleanup(target: Target) -> dict[str, Any]:
    with target.lock:
        ids, target.created = list(target.created), []
    if not ids:
        return {"requests": 0, "errors": 0}

    def delete(conn: Conn, i: int) -> None:
        conn.expect((204, 404), "DELETE", f"/v2/images/{ids[i]}")

    return load_run(target, "cleanup", SEED_CONCURRENCY, len(ids), 3600.0, delete, warmup=False)
