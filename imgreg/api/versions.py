"""The versions document (``GET /`` → 300, ``GET /versions`` → 200)."""

from __future__ import annotations

import json

import webob
from oslo_config import cfg

# (minor, status), in the order Glance lists them with its default configuration, plus 2.12
# (GET /v2/images/{id}/tasks) and 2.13 (/v2/info/usage), which imgreg serves in single-store
# mode too, less the features imgreg does not have (multi-store 2.8, delete from a store 2.10,
# copy-image between stores 2.11, cache 2.14/2.16/2.18, and the 2.17 location API). 2.6
# (interoperable import: /stage, /import, /info/import) is among 2.7..2.0.
VERSIONS = [
    (15, "CURRENT"),
    (13, "SUPPORTED"),
    (12, "SUPPORTED"),
    (9, "SUPPORTED"),
    *((m, "SUPPORTED") for m in range(7, -1, -1)),
]
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
