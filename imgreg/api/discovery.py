"""``/v2/info/import`` and ``/v2/info/usage`` (the stores: ``imgreg.api.stores``)."""

from __future__ import annotations

import webob

from imgreg.api.views import json_response
from imgreg.layers import build_image_repo
from imgreg.layers.quota import parse_storage_quota
from imgreg.services import Services

MiB = 1024 * 1024


class DiscoveryController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def import_methods(self, request: webob.Request) -> webob.Response:
        return json_response(
            {
                "import-methods": {
                    "description": "Import methods available.",
                    "type": "array",
                    "value": list(self.svc.conf.enabled_import_methods),
                }
            }
        )

    def usage(self, request: webob.Request) -> webob.Response:
        """The caller's project: bytes stored (MiB, as Glance's unified limits count) and image
        count; a limit of -1 means unlimited."""
        ctx = request.environ["imgreg.context"]
        quota = parse_storage_quota(self.svc.conf.user_storage_quota)
        used, count = build_image_repo(ctx, self.svc).usage(ctx.project_id)
        return json_response(
            {
                "usage": {
                    "image_size_total": {
                        "limit": quota // MiB if quota else -1,
                        "usage": -(-used // MiB),
                    },
                    "image_count_total": {"limit": -1, "usage": count},
                }
            }
        )
