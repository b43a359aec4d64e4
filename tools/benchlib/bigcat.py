"""``--big-catalog``: lists, show and PATCH on the catalog the servers already hold.

Run against two servers started over catalogs that ``--catalog`` loaded (issue 24: imgreg and
Glance over a million images, or one server over a million and one over 5,000, for the ratio).
It creates no image and seeds none. The identity is the ``--header`` options', as for the
other phases; as a member of an owner project of the catalog (``X-Project-Id:
project-000007``, which owns about 100 images at 5,000 and at 1,000,000 images) a list is the
public images plus the project's own and those shared with it.

``bigsetup`` takes what the measured requests use, from the server's own lists (both servers
hold the same seeded catalog, so they find the same images): the project's active images
(``owner=<X-Project-Id>``, or ``visibility=private`` without one) for PATCH; those and the
newest, the oldest and the last by name of the public active images for show, in a seeded
random order; the marker of the deepest full page of the default list, at most ``DEEP_PAGES``
pages down, followed page by page through ``next``.
"""

from __future__ import annotations

import dataclasses
import random
import urllib.parse
from typing import Any

from .client import BenchError, Conn
from .phases import _list_phase, patch_phase, phase_check, show_phase
from .report import Figure
from .sizes import CONCURRENCIES, Sizes
from .target import Target

DEEP_PAGES = 40
PAGE = 25
SAMPLE = 200  # public images per list taken for show
PUBLIC_QUERY = "visibility=public&status=active&sort=created_at:desc&limit=25"
NAME_QUERY = "sort=name:asc&limit=25"

BIG = Sizes(
    images=0,
    schema=0,
    show=300,
    list25=300,
    list1000=0,
    filtered=300,
    create=0,
    patch=300,
    data_mib=0,
    rounds=0,
    cycles=0,
    run_seconds=20.0,
)
BIG_QUICK = dataclasses.replace(BIG, show=30, list25=30, filtered=30, patch=30, run_seconds=5.0)


def _ids(conn: Conn, query: str) -> list[str]:
    return [i["id"] for i in conn.json(200, "GET", f"/v2/images?{query}")["images"]]


def phase_bigsetup(target: Target, sizes: Sizes) -> dict[str, Any]:
    project = target.ep.more.get("X-Project-Id")
    mine = f"owner={project}" if project else "visibility=private"
    conn = Conn(target.ep)
    try:
        target.owned = _ids(conn, f"{mine}&status=active&limit=1000")
        public: set[str] = set()
        for order in ("created_at:desc", "created_at:asc", "name:desc"):
            query = f"visibility=public&status=active&sort={order}&limit={SAMPLE}"
            public |= set(_ids(conn, query))
        shown = sorted(set(target.owned) | public)
        random.Random(0).shuffle(shown)
        target.seeded = shown
        depth, marker = _deep_marker(conn)
    finally:
        conn.close()
    if not target.owned:
        raise BenchError(f"bigsetup: no active image of {mine} to PATCH")
    target.deep_query = f"limit={PAGE}" + (f"&marker={marker}" if marker else "")
    return {"owned": len(target.owned), "shown": len(shown), "deep_page": depth}


def _deep_marker(conn: Conn) -> tuple[int, str | None]:
    """(page, marker): the deepest page (at most DEEP_PAGES) of the default list that is full,
    and the marker that asks for it (None for page 1)."""
    path = f"/v2/images?limit={PAGE}"
    marker: str | None = None
    best: tuple[int, str | None] = (1, None)
    for page in range(1, DEEP_PAGES + 1):
        body = conn.json(200, "GET", path)
        if len(body["images"]) < PAGE:
            break
        best = (page, marker)
        nxt = body.get("next")
        if not nxt:
            break
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
        marker = query["marker"][0]
        path = f"/v2/images?limit={PAGE}&marker={marker}"
    return best


def phase_big_list25(target: Target, sizes: Sizes) -> dict[str, Any]:
    return _list_phase(target, "big_list25", f"limit={PAGE}", sizes.list25, PAGE, sizes)


def phase_big_deep(target: Target, sizes: Sizes) -> dict[str, Any]:
    result = _list_phase(target, "big_deep", target.deep_query, sizes.list25, PAGE, sizes)
    result["page"] = target.results["bigsetup"]["deep_page"]
    return result


def phase_big_public(target: Target, sizes: Sizes) -> dict[str, Any]:
    return _list_phase(target, "big_public", PUBLIC_QUERY, sizes.filtered, PAGE, sizes)


def phase_big_name(target: Target, sizes: Sizes) -> dict[str, Any]:
    return _list_phase(target, "big_name", NAME_QUERY, sizes.filtered, PAGE, sizes)


def phase_big_show(target: Target, sizes: Sizes) -> dict[str, Any]:
    return show_phase(target, "big_show", target.seeded, sizes)


def phase_big_patch(target: Target, sizes: Sizes) -> dict[str, Any]:
    return patch_phase(target, "big_patch", target.owned, sizes)


BIG_PHASES = [
    ("check", phase_check, False),
    ("bigsetup", phase_bigsetup, False),
    ("big_list25", phase_big_list25, False),
    ("big_deep", phase_big_deep, False),
    ("big_public", phase_big_public, False),
    ("big_name", phase_big_name, False),
    ("big_show", phase_big_show, False),
    ("big_patch", phase_big_patch, False),
]
MEASURED = (
    ("big_list25", "list limit=25"),
    ("big_deep", "list limit=25, deep page"),
    ("big_public", "list public+active, created_at:desc, 25"),
    ("big_name", "list name:asc, 25"),
    ("big_show", "image GET"),
    ("big_patch", "PATCH /name"),
)


def big_figures() -> list[Figure]:
    rows: list[Figure] = []
    for key, label in MEASURED:
        for c in CONCURRENCIES:
            conc = f"c{c}"
            rows += [
                Figure(
                    f"{label} {conc} server CPU", (key, conc, "cpu_ms_per_req"), "ms/req", False
                ),
                Figure(f"{label} {conc} req/s", (key, conc, "rps"), "req/s", True),
                Figure(f"{label} {conc} p50", (key, conc, "p50_ms"), "ms", False),
                Figure(f"{label} {conc} p99", (key, conc, "p99_ms"), "ms", False),
            ]
    return rows
