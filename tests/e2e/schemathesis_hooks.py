"""schemathesis hooks (``SCHEMATHESIS_HOOKS=tests.e2e.schemathesis_hooks``): Glance's two
JSON-patch media types are JSON on the wire, and every other stage or import goes to a fresh
queued image (staged first for a glance-direct import), so that generated bodies and headers
reach the import code rather than stopping at a 404 for a random id (or a 409 for an image an
earlier case staged)."""

from __future__ import annotations

import itertools
from typing import Any

import requests
import schemathesis

schemathesis.serializer.alias(
    [
        "application/openstack-images-v2.1-json-patch",
        "application/openstack-images-v2.0-json-patch",
    ],
    "application/json",
)

FRESH_IMAGE_FOR = ("/v2/images/{image_id}/stage", "/v2/images/{image_id}/import")
_calls = itertools.count()


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    if case.operation.path not in FRESH_IMAGE_FOR or next(_calls) % 2:
        return
    base = case.operation.schema.get_base_url()
    resp = requests.post(
        f"{base}/v2/images", json={"disk_format": "raw", "container_format": "bare"}, timeout=10
    )
    resp.raise_for_status()
    image_id = resp.json()["id"]
    body = case.body if isinstance(case.body, dict) else {}
    method = body.get("method")
    if isinstance(method, dict) and method.get("name") == "glance-direct":
        resp = requests.put(
            f"{base}/v2/images/{image_id}/stage",
            data=b"staged by the hooks",
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        )
        resp.raise_for_status()
    case.path_parameters = {**(case.path_parameters or {}), "image_id": image_id}
