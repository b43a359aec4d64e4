"""schemathesis hooks (``SCHEMATHESIS_HOOKS=tests.e2e.schemathesis_hooks``): Glance's two
JSON-patch media types are JSON on the wire."""

from __future__ import annotations

import schemathesis

schemathesis.serializer.alias(
    [
        "application/openstack-images-v2.1-json-patch",
        "application/openstack-images-v2.0-json-patch",
    ],
    "application/json",
)
