"""The ``Image`` domain object: its fields, the status table, and named transitions.

Status only changes through the methods below, never by assignment from outside; each checks
the table. ``changes()`` reports what differs from the snapshot taken when the image was loaded,
which is what the layers inspect in ``save``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from imgreg.domain import errors

# status -> statuses it may move to (Glance's table).
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"saving", "uploading", "importing", "active", "deleted"}),
    "saving": frozenset({"active", "killed", "deleted", "queued"}),
    "uploading": frozenset({"importing", "queued", "deleted"}),
    "importing": frozenset({"active", "deleted", "queued"}),
    "active": frozenset({"pending_delete", "deleted", "deactivated"}),
    "killed": frozenset({"deleted"}),
    "pending_delete": frozenset({"deleted", "active"}),
    "deactivated": frozenset({"active", "deleted"}),
    "deleted": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
VISIBILITIES = ("public", "private", "shared", "community")

# Fields a client may set directly (create or PATCH); everything else is managed by imgreg.
MUTABLE_FIELDS = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
)
DATA_FIELDS = (
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "crc32",
    "data_sha256",
)
# Statuses in which a writer holds the image under a lease (``upload_expires_at``): an upload
# (saving), a stage while its data arrives (uploading), an import (importing).
HELD = frozenset({"saving", "uploading", "importing"})
# The properties an import keeps on its image (Glance's names, shown to clients).
IMPORT_TASK = "os_glance_import_task"
IMPORTING_TO = "os_glance_importing_to_stores"
FAILED_IMPORT = "os_glance_failed_import"


def stale_message(image_id: str) -> str:
    return f"Image {image_id} has been changed since the version the request names."


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


def isotime(value: dt.datetime) -> str:
    """Glance's timestamps (UTC, whole seconds, "Z"), in views and notifications alike. The
    database hands back naive UTC datetimes; isoformat() formats them in a fraction of
    strftime's time (two per image, 50 per page of a list)."""
    if value.tzinfo is None:
        return value.isoformat(timespec="seconds") + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def isotime_or_none(value: dt.datetime | None) -> str | None:
    return None if value is None else isotime(value)


@dataclasses.dataclass(eq=False)
class Image:
    id: str
    owner: str | None
    status: str = "queued"
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    container_format: str | None = None
    disk_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    crc32: int | None = None  # internal: CRC-32 of the data, verified on full downloads
    # internal: hex sha-256 of the data, for ``Repr-Digest`` when the multihash is not sha-256
    data_sha256: str | None = None
    # The record's revision (its ETag), incremented by the database on every change.
    revision: int = 1
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    updated_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    tags: set[str] = dataclasses.field(default_factory=set)
    extra_properties: dict[str, str] = dataclasses.field(default_factory=dict)
    locations: list[str] = dataclasses.field(default_factory=list)
    # Each location's metadata (Glance's ``metadata``), by URL; a URL absent here has {}.
    # With several stores, ``{"store": "<id>"}`` names the store the copy is in.
    location_metadata: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    # Set by ``require_revision``: the next save or remove happens only if the record is
    # still at this revision (``If-Match``), else ``PreconditionFailed``.
    expected_revision: int | None = dataclasses.field(default=None, repr=False)
    _snapshot: dict[str, Any] | None = dataclasses.field(default=None, repr=False)

    # -- change tracking -------------------------------------------------------------------
    def mark_clean(self) -> None:
        """Remember the current state; ``changes()`` is relative to it."""
        state = self.__dict__.copy()
        del state["_snapshot"]
        # Values are immutable scalars except these containers: copy them, not deeply.
        state["tags"] = set(self.tags)
        state["extra_properties"] = dict(self.extra_properties)
        state["locations"] = list(self.locations)
        state["location_metadata"] = {k: dict(v) for k, v in self.location_metadata.items()}
        self._snapshot = state

    def restore_properties(self, hidden: dict[str, str]) -> None:
        """Put back properties a layer hid from the caller, as unchanged (a value the caller
        set under one of those names stays, and counts as an update)."""
        for name, value in hidden.items():
            self.extra_properties.setdefault(name, value)
            if self._snapshot is not None:
                self._snapshot["extra_properties"][name] = value

    def changes(self) -> Changes:
        before = self._snapshot or {}
        fields = {
            name
            for name in (*MUTABLE_FIELDS, "status", *DATA_FIELDS)
            if before.get(name) != getattr(self, name)
        }
        old_props: dict[str, str] = before.get("extra_properties", {})
        new_props = self.extra_properties
        return Changes(
            fields=fields,
            added={k for k in new_props if k not in old_props},
            updated={k for k in new_props if k in old_props and old_props[k] != new_props[k]},
            removed={k for k in old_props if k not in new_props},
            tags_changed=before.get("tags", set()) != self.tags,
            tags_added=self.tags - before.get("tags", set()),
            tags_removed=before.get("tags", set()) - self.tags,
            locations_changed=before.get("locations", []) != self.locations
            or before.get("location_metadata", {}) != self.location_metadata,
            status_before=before.get("status"),
        )

    def require_revision(self, revision: int) -> None:
        """Let the next save or remove happen only while the record is at ``revision``
        (``If-Match``): the database checks it in the same statement as the write, after
        every layer's own checks, and raises ``PreconditionFailed`` when it no longer is.
        Revisions start at 1: 0 is never matched."""
        self.expected_revision = revision

    def check_revision(self) -> None:
        """``PreconditionFailed`` unless the image as loaded is at the required revision:
        for a request that ends up writing nothing (a no-op PATCH or action)."""
        if self.expected_revision is not None and self.expected_revision != self.revision:
            raise errors.PreconditionFailed(stale_message(self.id))

    # -- locations --------------------------------------------------------------------------
    def metadata_of(self, url: str) -> dict[str, Any]:
        return self.location_metadata.get(url, {})

    def store_of(self, url: str) -> str | None:
        """The store the copy at ``url`` is in, when its metadata names one."""
        store = self.metadata_of(url).get("store")
        return store if isinstance(store, str) else None

    def add_location(self, url: str, metadata: dict[str, Any] | None = None) -> None:
        if url in self.locations:
            raise errors.Conflict(f"Location {url} is already present")
        self.locations.append(url)
        if metadata:
            self.location_metadata[url] = dict(metadata)

    def drop_location(self, url: str) -> None:
        self.locations.remove(url)
        self.location_metadata.pop(url, None)

    # -- status transitions ----------------------------------------------------------------
    def _move(self, target: str) -> None:
        if target not in TRANSITIONS[self.status]:
            raise errors.InvalidTransition(self.status, target)
        self.status = target

    def begin_upload(self) -> None:
        """queued -> saving. Data needs both formats, as in Glance."""
        if self.status != "queued":
            raise errors.InvalidTransition(self.status, "saving")
        if not (self.disk_format and self.container_format):
            raise errors.Invalid(
                "Properties disk_format, container_format must be set prior to saving data."
            )
        self._move("saving")

    def begin_stage(self) -> None:
        """queued -> uploading: data staged for a later ``glance-direct`` import. Unlike an
        upload, staging needs no formats (the import does)."""
        if self.status != "queued":
            raise errors.InvalidTransition(self.status, "uploading")
        self._move("uploading")

    def begin_import(self, method: str, task_id: str, stores: str = "") -> None:
        """-> importing, with the import's lock (its task) in the image's properties.
        ``glance-direct`` imports what was staged (``uploading``); ``web-download`` starts
        from ``queued``. Both need the formats, as in Glance."""
        if self.status == "active":
            raise errors.Conflict("Image with status active cannot be target for import")
        if method == "glance-direct" and self.status != "uploading":
            raise errors.Conflict(
                "Image needs to be staged before 'glance-direct' method can be used"
            )
        if method != "glance-direct" and self.status != "queued":
            raise errors.Conflict(f"Image needs to be in 'queued' state to use '{method}' method")
        for name in ("container_format", "disk_format"):
            if not getattr(self, name):
                raise errors.Conflict(f"'{name}' needs to be set before import")
        self._move("importing")
        self.extra_properties[IMPORT_TASK] = task_id
        self.extra_properties[IMPORTING_TO] = stores
        self.extra_properties[FAILED_IMPORT] = ""

    def end_import(self, failed_stores: str = "") -> None:
        """Drop the import's lock; ``failed_stores`` names where it failed (Glance's
        ``os_glance_failed_import``, which clients wait on)."""
        self.extra_properties.pop(IMPORT_TASK, None)
        self.extra_properties[IMPORTING_TO] = ""
        self.extra_properties[FAILED_IMPORT] = failed_stores

    def begin_location_import(self, task_id: str) -> None:
        """queued -> importing while a ``location_import`` task checks the location just
        added (POST /v2/images/{id}/locations), with the task as the import's lock."""
        if self.status != "queued":
            raise errors.Conflict(
                f"It's not allowed to add locations if image status is {self.status}."
            )
        if IMPORT_TASK in self.extra_properties:
            raise errors.Conflict(
                f"New operation on image '{self.id}' is not permitted as prior operation is "
                "still in progress"
            )
        self._move("importing")
        self.extra_properties[IMPORT_TASK] = task_id

    def activate(self) -> None:
        self._move("active")

    def abort_upload(self) -> None:
        """saving, uploading or importing -> queued, forgetting everything the failed upload,
        stage or import may have recorded."""
        self._move("queued")
        for name in DATA_FIELDS:
            setattr(self, name, None)
        self.locations = []
        self.location_metadata = {}

    def deactivate(self) -> None:
        self._move("deactivated")

    def reactivate(self) -> None:
        self._move("active")

    def mark_deleted(self) -> None:
        self._move("deleted")

    def schedule_delete(self) -> None:
        """Delayed delete: the image is gone for clients, its data until the scrubber runs."""
        self._move("pending_delete")


@dataclasses.dataclass(frozen=True)
class Changes:
    fields: set[str]
    added: set[str]
    updated: set[str]
    removed: set[str]
    tags_changed: bool = False
    tags_added: frozenset[str] | set[str] = frozenset()
    tags_removed: frozenset[str] | set[str] = frozenset()
    locations_changed: bool = False
    status_before: str | None = None

    @property
    def properties(self) -> set[str]:
        return self.added | self.updated | self.removed
