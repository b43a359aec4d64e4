"""The task schemas, as Glance serves them on ``/v2/schemas/task`` and ``/v2/schemas/tasks``
("minimal": no ``additionalProperties``, the collection without paging links), and the
validation of a ``POST /v2/tasks`` body against the full task schema (which, as Glance's,
refuses keys it does not list).

The descriptions are Glance's, word for word: clients show them.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from imgreg.domain import errors
from imgreg.domain.schema import UUID_PATTERN
from imgreg.domain.task import STATUSES, TYPES


def _text(description: str, kind: Any = "string") -> dict[str, Any]:
    return {"description": description, "type": kind}


_PROPERTIES: dict[str, Any] = {
    "id": {**_text("An identifier for the task"), "pattern": UUID_PATTERN},
    "type": {
        "description": "The type of task represented by this content",
        "enum": list(TYPES),
        "type": "string",
    },
    "status": {
        "description": "The current status of this task",
        "enum": list(STATUSES),
        "type": "string",
    },
    "input": _text("The parameters required by task, JSON blob", ["null", "object"]),
    "result": _text("The result of current task, JSON blob", ["null", "object"]),
    "owner": _text("An identifier for the owner of this task"),
    "message": _text(
        "Human-readable informative message only included when appropriate (usually on failure)"
    ),
    "image_id": _text("Image associated with the task"),
    "request_id": _text("Human-readable informative request-id"),
    "user_id": _text("User associated with the task"),
    "expires_at": _text(
        "Datetime when this resource would be subject to removal", ["null", "string"]
    ),
    "created_at": _text("Datetime when this resource was created"),
    "updated_at": _text("Datetime when this resource was updated"),
    "self": {"readOnly": True, "type": "string"},
    "schema": {"readOnly": True, "type": "string"},
}
# what a task of a list shows (no input, result or message)
_PARTIAL = {k: v for k, v in _PROPERTIES.items() if k not in ("input", "result", "message")}

TASK_SCHEMA: dict[str, Any] = {"name": "task", "properties": copy.deepcopy(_PROPERTIES)}
TASKS_SCHEMA: dict[str, Any] = {
    "name": "tasks",
    "properties": {
        "tasks": {
            "type": "array",
            "items": {"name": "task", "properties": copy.deepcopy(_PARTIAL)},
        },
        "schema": {"type": "string"},
    },
    "links": [{"rel": "describedby", "href": "{schema}"}],
}

MESSAGE_MAX = 200
_VALIDATOR = jsonschema.Draft4Validator(
    {"properties": copy.deepcopy(_PROPERTIES), "additionalProperties": False}
)


def validate_task_body(body: dict[str, Any]) -> None:
    """Raise ``Invalid`` with the first violation of the task schema, phrased for a user."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(body))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)[:MESSAGE_MAX]
        reason = error.message
        if len(reason) > MESSAGE_MAX:  # it quotes the offending value, which may be huge
            reason = reason[:MESSAGE_MAX] + "..."
        prefix = f"Provided object does not match schema 'task': {reason}"
        raise errors.Invalid(f"{prefix} (at '{where}')" if where else prefix)
