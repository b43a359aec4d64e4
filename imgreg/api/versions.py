"""The versions document (``GET /`` → 300, ``GET /versions`` → 200)."""

from __future__ import annotations

import json

import webob
from oslo_config import cfg

# (minor, status), in the order Glance lists them with its default configuration, less the
# features imgreg does not have (multi-store 2.8/2.10-2.13, cache 2.14/2.16/2.18, and the
# 2.17 location API).
VERSIONS = [(15, "CURRENT"), (9, "SUPPORTED"), *((m, "SUPPORTED") for m in range(7, -1, -1))]
MINORS = frozenset(m for m, _s in VERSIONS)


def versions_response(request: webob.Request, conf: cfg.ConfigOpts, status: int) -> webob.Response:
    base = (conf.public_endpoint or request.host_url).rstrip("/")
    doc = {
        "versions": [
            {"id": f"v2.{m}", "status": s, "links": [{"rel": "self", "href": f"{base}/v2/"}]}
            for m, s in VERSIONS
        ]
    }
    return webob.Response(
        status=status, body=json.dumps(doc).encode(), content_type="application/json", charset=None
    )
