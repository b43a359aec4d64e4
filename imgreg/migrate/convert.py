"""One Glance image as imgreg stores it: the ``images`` row and the rows it owns, or why it
(or a part of it) is left out.

Same id, timestamps, owner, checksum and ``os_hash_*``. What imgreg keeps and Glance does
not: ``crc32`` stays NULL (Glance never computed one: downloads of an imported image are
checked against nothing extra, ``imgreg-manage check`` and ``--verify`` read the md5 and
``os_hash_value`` back instead), ``revision`` starts at 1 and grows by one each time a re-run
changes the image. Properties, tags and members Glance soft-deleted are not carried over (imgreg
deletes those rows); a deleted image keeps its row, so its id can never be used again.
A location is kept as the very URL Glance wrote, if a configured imgreg store reads it in place
(``Stores.resolve``); its metadata's ``store`` becomes that store's id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

from imgreg.domain import errors
from imgreg.migrate.glance_source import GlanceImage
from imgreg.store.registry import Stores

STATUSES = frozenset(
    {"queued", "saving", "uploading", "importing", "active", "deactivated", "killed",
     "deleted", "pending_delete"}
)  # fmt: skip
VISIBILITIES = frozenset({"public", "private", "shared", "community"})
MEMBER_STATUSES = frozenset({"pending", "accepted", "rejected"})
MAX_VALUE = 65535  # a property value imgreg's TEXT column holds on every database
MAX_NAME = 255


@dataclasses.dataclass
class Record:
    """What imgreg stores for one image (the ``images`` row without ``revision``)."""

    image: dict[str, Any]
    properties: dict[str, str]
    tags: list[str]
    members: dict[str, dict[str, Any]]  # member → row
    locations: list[tuple[str, str | None]]  # (url, metadata as JSON text), in order


@dataclasses.dataclass
class Converted:
    record: Record | None
    skipped: list[tuple[str, str]]  # (what, why)


def convert(glance: GlanceImage, stores: Stores) -> Converted:
    row = glance.row
    image_id = str(row["id"])
    why = _refusal(row)
    if why:
        return Converted(None, [(f"image {image_id:.64}", why)])
    skipped: list[tuple[str, str]] = []
    deleted = bool(row["deleted"])
    created = row["created_at"]
    image = {
        "id": image_id,
        "name": row["name"],
        "status": row["status"],
        "visibility": row["visibility"],
        "protected": bool(row["protected"]),
        "os_hidden": bool(row["os_hidden"]),
        "owner": row["owner"],
        "container_format": row["container_format"],
        "disk_format": row["disk_format"],
        "min_disk": row["min_disk"] or 0,
        "min_ram": row["min_ram"] or 0,
        "size": row["size"],
        "virtual_size": row["virtual_size"],
        "checksum": row["checksum"],
        "os_hash_algo": row["os_hash_algo"],
        "os_hash_value": row["os_hash_value"],
        "crc32": None,
        "data_sha256": None,
        "upload_expires_at": None,
        "reserved_bytes": None,
        "created_at": created,
        "updated_at": row["updated_at"] or created,
        "deleted": deleted or row["status"] in ("deleted", "pending_delete"),
        "deleted_at": row["deleted_at"],
    }
    properties: dict[str, str] = {}
    for prop in _live(glance.properties):
        name, value = prop["name"], prop["value"]
        if not name or len(name) > MAX_NAME:
            skipped.append((f"property of image {image_id}", "its name is empty or too long"))
        elif value is not None and len(value) > MAX_VALUE:
            skipped.append(
                (
                    f"property {name} of image {image_id}",
                    f"its value is over {MAX_VALUE} characters",
                )
            )
        else:
            properties[name] = "" if value is None else value
    tags = sorted({t["value"] for t in _live(glance.tags) if t["value"]})
    members: dict[str, dict[str, Any]] = {}
    for member in _live(glance.members):
        name = member["member"]
        if not name or member["status"] not in MEMBER_STATUSES:
            skipped.append(
                (f"member {name!s:.64} of image {image_id}", f"status {member['status']!s:.32}")
            )
            continue
        members[name] = {
            "status": member["status"],
            "created_at": member["created_at"],
            "updated_at": member["updated_at"] or member["created_at"],
        }
    locations = _locations(glance, image["status"], stores, skipped)
    return Converted(Record(image, properties, tags, members, locations), skipped)


def _refusal(row: dict[str, Any]) -> str | None:
    try:
        if str(uuid.UUID(str(row["id"]))) != row["id"]:
            return "its id is not a UUID in canonical form"
    except ValueError:
        return "its id is not a UUID"
    if row["status"] not in STATUSES:
        return f"unknown status {row['status']!s:.32}"
    if row["visibility"] not in VISIBILITIES:
        return f"unknown visibility {row['visibility']!s:.32}"
    if not isinstance(row["created_at"], dt.datetime):
        return "no created_at"
    return None


def _live(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if not r["deleted"]]


def _locations(
    glance: GlanceImage, status: str, stores: Stores, skipped: list[tuple[str, str]]
) -> list[tuple[str, str | None]]:
    """The locations imgreg keeps: a live image's active ones; a ``pending_delete`` image's
    pending ones (for the scrubber); none for a deleted image (Glance deleted its data)."""
    image_id = glance.row["id"]
    if status == "deleted":
        return []
    wanted = "pending_delete" if status == "pending_delete" else "active"
    kept: list[tuple[str, str | None]] = []
    for loc in glance.locations:
        if loc["status"] != wanted or (wanted == "active" and loc["deleted"]):
            continue
        url = loc["value"]
        try:
            store_id, _name = stores.resolve(url)
        except errors.NotFound as exc:
            skipped.append((f"location of image {image_id}", f"{exc.message} ({_scheme(url)})"))
            continue
        metadata = _metadata(loc["meta_data"])
        metadata.pop("store", None)
        if stores.multiple:
            metadata["store"] = store_id
        text = json.dumps(metadata, sort_keys=True, separators=(",", ":")) if metadata else None
        kept.append((url, text))
    return kept


def _metadata(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else text
    except ValueError:
        return {}
    return dict(value) if isinstance(value, dict) else {}


def _scheme(url: str) -> str:
    return url.split(":", 1)[0][:16] + ":..." if ":" in url else "no scheme"
