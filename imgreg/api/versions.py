"""The versions document (``GET /`` → 300, ``GET /versions`` → 200)."""

from __future__ import annotations

import json

import webob
from oslo_config import cfg

# (minor, status), in Glance's order. Glance advertises 2.8 (multi-store) and 2.10-2.13 only
# with enabled_backends; imgreg serves 2.12 (GET /v2/images/{id}/tasks) and 2.13
# (/v2/info/usage) with one store too. The cache API (2.14, 2.16, 2.18) only with
# image_cache_dir, as in Glance: 2.18 is then CURRENT.
CURRENT = [(17, "CURRENT"), (15, "SUPPORTED"), (13, "SUPPORTED"), (12, "SUPPORTED")]
CACHE = [
    (18, "CURRENT"),
    (17, "SUPPORTED"),
    (16, "SUPPORTED"),
    (15, "SUPPORTED"),
    (14, "SUPPORTED"),
    (13, "SUPPORTED"),
    (12, "SUPPORTED"),
]
MULTISTORE = [(11, "SUPPORTED"), (10, "SUPPORTED")]  # copy-image; delete from a store
OLDER = [(9, "SUPPORTED"), (8, "SUPPORTED"), *((m, "SUPPORTED") for m in range(7, -1, -1))]


def advertised(multiple_stores: bool, cache: bool = False) -> list[tuple[int, str]]:
    """The versions of this configuration: with several stores, 2.8 (multi-store), 2.10 and
    2.11 as well, which mean nothing with one; with the image cache, 2.14, 2.16 and 2.18."""
    head = CACHE if cache else CURRENT
    if multiple_stores:
        return head + MULTISTORE + OLDER
    return head + [v for v in OLDER if v[0] != 8]


def minors(multiple_stores: bool, cache: bool = False) -> frozenset[int]:
    """The minor versions a URL (/v2.N/...) may name."""
    return frozenset(m for m, _s in advertised(multiple_stores, cache))


def versions_response(
    request: webob.Request, conf: cfg.ConfigOpts, status: int, multiple_stores: bool
) -> webob.Response:
    base = (conf.public_endpoint or request.host_url).rstrip("/")
    doc = {
        "versions": [
            {"id": f"v2.{m}", "status": s, "links": [{"rel": "self", "href": f"{base}/v2/"}]}
            for m, s in advertised(multiple_stores, bool(conf.image_cache_dir))
        ]
    }
    return webob.Response(
        status=status, body=json.dumps(doc).encode(), content_type="application/json", charset=None
    )
