"""``GET /v2/schemas/image``, ``/images``, ``/member``, ``/members``, ``/task`` and ``/tasks``:
the schema objects that requests are validated against, served as they are."""

from __future__ import annotations

import copy
import json
from typing import Any

import webob

from imgreg.domain.member import STATUSES
from imgreg.domain.schema import UUID_PATTERN
from imgreg.domain.task_schemas import TASK_SCHEMA, TASKS_SCHEMA
from imgreg.services import Services

# Glance's member schema, served "minimal" (no additionalProperties, no links).
MEMBER_SCHEMA: dict[str, Any] = {
    "name": "member",
    "properties": {
        "member_id": {
            "type": "string",
            "description": "An identifier for the image member (tenantId)",
        },
        "image_id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": UUID_PATTERN,
        },
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "updated_at": {
            "type": "string",
            "description": "Date and time of last modification of image member",
        },
        "status": {
            "type": "string",
            "description": "The status of this image member",
            "enum": list(STATUSES),
        },
        "schema": {"readOnly": True, "type": "string"},
    },
}
MEMBERS_SCHEMA: dict[str, Any] = {
    "name": "members",
    "properties": {
        "members": {"type": "array", "items": copy.deepcopy(MEMBER_SCHEMA)},
        "schema": {"type": "string"},
    },
    "links": [{"rel": "describedby", "href": "{schema}"}],
}


class SchemasController:
    def __init__(self, svc: Services) -> None:
        # Serialized once: the documents never change while the process runs.
        self._documents = {
            name: json.dumps(document).encode()
            for name, document in (
                ("image", svc.schema.document),
                ("images", svc.schema.collection()),
                ("member", MEMBER_SCHEMA),
                ("members", MEMBERS_SCHEMA),
                ("task", TASK_SCHEMA),
                ("tasks", TASKS_SCHEMA),
            )
        }

    def _json(self, name: str) -> webob.Response:
        body = self._documents[name]
        return webob.Response(body=body, content_type="application/json", charset=None)

    def image(self, request: webob.Request) -> webob.Response:
        return self._json("image")

    def images(self, request: webob.Request) -> webob.Response:
        return self._json("images")

    def member(self, request: webob.Request) -> webob.Response:
        return self._json("member")

    def members(self, request: webob.Request) -> webob.Response:
        return self._json("members")

    def task(self, request: webob.Request) -> webob.Response:
        return self._json("task")

    def tasks(self, request: webob.Request) -> webob.Response:
        return self._json("tasks")
