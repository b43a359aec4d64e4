"""``ImageFactory``: makes new ``Image`` objects with ids, defaults and attribute checks."""

from __future__ import annotations

import uuid
from typing import Any

from imgreg.domain import errors
from imgreg.domain.image import MUTABLE_FIELDS, Image

READ_ONLY = frozenset(
    {
        "checksum",
        "created_at",
        "updated_at",
        "status",
        "size",
        "virtual_size",
        "os_hash_algo",
        "os_hash_value",
        "direct_url",
        "self",
        "file",
        "schema",
        "stores",
    }
)
RESERVED = frozenset({"location", "locations", "deleted", "deleted_at"})
RESERVED_PREFIX = "os_glance"


def check_attribute(name: str) -> None:
    """Refuse names a client may never set (403, with Glance's wording)."""
    if name in READ_ONLY:
        raise errors.ReadOnlyProperty(name)
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise errors.ReservedProperty(name)


INT32_MAX = 2**31 - 1


def check_int32(name: str, value: int) -> None:
    """``min_disk``/``min_ram`` are 32-bit non-negative columns (Glance's messages)."""
    if value < 0:
        raise errors.Invalid(f"'{name}' Cannot be a negative value")
    if value > INT32_MAX:
        raise errors.Invalid(f"'{name}' value out of range")


def normalize_id(image_id: str) -> str:
    """Canonical (lower-case, hyphenated) form of an image id; ``NotFound`` when it is no UUID."""
    try:
        return str(uuid.UUID(image_id))
    except (ValueError, AttributeError, TypeError):
        raise errors.NotFound(f"No image found with ID {image_id}") from None


class ImageFactory:
    def new_image(self, owner: str | None, **fields: Any) -> Image:
        """``fields``: ``image_id``, ``tags``, ``extra_properties`` and the mutable fields."""
        image_id: str | None = fields.pop("image_id", None)
        tags: set[str] | None = fields.pop("tags", None)
        extra_properties: dict[str, str] | None = fields.pop("extra_properties", None)
        for name in fields:
            if name not in MUTABLE_FIELDS:
                check_attribute(name)
                raise errors.Invalid(f"Unknown image attribute '{name}'")
        for name in extra_properties or {}:
            check_attribute(name)
        if image_id is None:
            image_id = str(uuid.uuid4())
        else:
            try:
                image_id = str(uuid.UUID(image_id))
            except ValueError:
                raise errors.Invalid(f"Invalid image id {image_id!r}") from None
        fields.pop("owner", None)
        image = Image(
            id=image_id,
            owner=owner,
            tags=set(tags or ()),
            extra_properties=dict(extra_properties or {}),
            **{k: v for k, v in fields.items() if v is not None or k == "name"},
        )
        for name in ("min_disk", "min_ram"):
            check_int32(name, getattr(image, name))
        return image
