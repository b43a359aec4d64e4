"""The image JSON schema: built once at start-up, served by ``/v2/schemas/image`` and used to
validate create and update bodies, so what is served is exactly what is enforced.

The base properties mirror Glance's, because python-glanceclient builds its model from the
served document and validates responses against it. Custom properties come from a
``schema-image.json`` file (flat ``{name: schema}`` or ``{"properties": …, "required": […]}``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema

from imgreg.domain import errors
from imgreg.domain.image import STATUSES, VISIBILITIES

UUID_PATTERN = (
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)


class SchemaLoadError(Exception):
    """The custom property file cannot be used; imgreg refuses to start."""


def _base_properties(disk_formats: list[str], container_formats: list[str]) -> dict[str, Any]:
    def nullable(kind: str, text: str, **more: Any) -> dict[str, Any]:
        return {"type": ["null", kind], "description": text, **more}

    def read_only(kind: Any, text: str, **more: Any) -> dict[str, Any]:
        return {"type": kind, "readOnly": True, "description": text, **more}

    return {
        "id": {
            "type": "string",
            "description": "Image identifier (UUID).",
            "pattern": UUID_PATTERN,
        },
        "name": nullable("string", "Human-readable name.", maxLength=255),
        "status": read_only("string", "Lifecycle status.", enum=list(STATUSES)),
        "visibility": {
            "type": "string",
            "description": "Who may see the image.",
            "enum": ["community", "public", "private", "shared"],
        },
        "protected": {"type": "boolean", "description": "A protected image cannot be deleted."},
        "os_hidden": {"type": "boolean", "description": "Hidden from the default image list."},
        "checksum": read_only(["null", "string"], "MD5 of the data (hex).", maxLength=32),
        "os_hash_algo": read_only(["null", "string"], "Algorithm of os_hash_value.", maxLength=64),
        "os_hash_value": read_only(["null", "string"], "Digest of the data (hex).", maxLength=128),
        "owner": nullable("string", "Project that owns the image.", maxLength=255),
        "size": read_only(["null", "integer"], "Size of the data in bytes."),
        "virtual_size": read_only(["null", "integer"], "Size of the virtual disk in bytes."),
        "container_format": nullable(
            "string", "Container of the data.", enum=[None, *container_formats]
        ),
        "disk_format": nullable("string", "Format of the disk data.", enum=[None, *disk_formats]),
        "created_at": read_only("string", "When the image was created."),
        "updated_at": read_only("string", "When the image last changed."),
        "tags": {
            "type": "array",
            "description": "Free-form labels.",
            "items": {"type": "string", "maxLength": 255},
        },
        "direct_url": read_only("string", "Location of the data in the store."),
        "min_ram": {"type": "integer", "description": "RAM (MiB) needed to boot the image."},
        "min_disk": {"type": "integer", "description": "Disk (GiB) needed to boot the image."},
        "self": read_only("string", "Path of this image."),
        "file": read_only("string", "Path of this image's data."),
        "stores": read_only("string", "Comma-separated ids of the stores holding the data."),
        "schema": read_only("string", "Path of this schema."),
        "locations": {
            "type": "array",
            "description": "Where the data is stored.",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                },
                "required": ["url", "metadata"],
            },
        },
    }


LINKS = [
    {"rel": "self", "href": "{self}"},
    {"rel": "enclosure", "href": "{file}"},
    {"rel": "describedby", "href": "{schema}"},
]


def load_custom_properties(path: str | None) -> tuple[dict[str, Any], list[str]]:
    """Read a schema-image.json; ``({}, [])`` when there is none."""
    if not path:
        return {}, []
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise SchemaLoadError(f"cannot read custom image properties from {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise SchemaLoadError(f"{path}: expected a JSON object of property schemas")
    if "properties" in doc and isinstance(doc["properties"], dict):
        return doc["properties"], list(doc.get("required", []))
    return doc, []


class ImageSchema:
    """The served image schema plus a compiled validator for it."""

    def __init__(
        self,
        disk_formats: list[str],
        container_formats: list[str],
        custom: dict[str, Any] | None = None,
        required: list[str] | None = None,
        permissive: bool = True,
    ) -> None:
        properties = _base_properties(disk_formats, container_formats)
        for name, definition in (custom or {}).items():
            if name in properties:
                raise SchemaLoadError(
                    f"custom image property {name!r} conflicts with the base property of that "
                    "name; remove it from the custom schema file"
                )
            if not isinstance(definition, dict):
                raise SchemaLoadError(f"custom image property {name!r} must be a JSON object")
            properties[name] = {**definition, "is_base": False}
        self.base_names = frozenset(_base_properties(disk_formats, container_formats))
        doc: dict[str, Any] = {
            "name": "image",
            "properties": properties,
            "additionalProperties": {"type": "string"} if permissive else False,
            "links": LINKS,
        }
        if required:
            doc["required"] = list(required)
        try:
            jsonschema.Draft4Validator.check_schema(doc)
        except jsonschema.SchemaError as exc:
            raise SchemaLoadError(
                f"custom image properties are not valid JSON schema: {exc}"
            ) from exc
        self.document = doc
        self._validator = jsonschema.Draft4Validator(doc)
        partial = {k: v for k, v in doc.items() if k != "required"}
        self._partial_validator = jsonschema.Draft4Validator(partial)

    def validate(self, body: dict[str, Any], partial: bool = False) -> None:
        """Raise ``Invalid`` with the first violation, phrased for a user."""
        validator = self._partial_validator if partial else self._validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            prefix = f"Provided object does not match schema 'image': {error.message}"
            raise errors.Invalid(f"{prefix} (at '{where}')" if where else prefix)

    def collection(self) -> dict[str, Any]:
        return {
            "name": "images",
            "properties": {
                "images": {"type": "array", "items": copy.deepcopy(self.document)},
                "schema": {"type": "string"},
                "first": {"type": "string"},
                "next": {"type": "string"},
            },
            "links": [
                {"rel": "first", "href": "{first}"},
                {"rel": "next", "href": "{next}"},
                {"rel": "describedby", "href": "{schema}"},
            ],
        }


VISIBILITY_VALUES = VISIBILITIES
