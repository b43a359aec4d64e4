"""The Swift store's static large objects (SLO): segment groups and their manifests.

An upload of a large image writes its segments to ``<container>_segments`` under a group name,
``<image-id>.<token>/<nnnnnn>``, then PUTs the manifest under the image id in ``<container>``,
its metadata ``X-Object-Meta-Segments`` naming the group. A group that no manifest names is a
partial upload (in flight, or left by a killed process or a delete that failed half-way).
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
from typing import Any

import swiftclient
from swiftclient import ClientException

from imgreg.domain import errors
from imgreg.store import PartialFile
from imgreg.store.source import BLOCK, Source

MiB = 1024 * 1024
SEGMENTS_META = "X-Object-Meta-Segments"
GROUP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9a-f]+\Z")


class SegmentGroups:
    """The segment groups of ``container``'s images, kept in ``segments``."""

    def __init__(self, container: str, segments: str, chunk_size: int) -> None:
        self.container = container
        self.segments = segments
        self.chunk_size = chunk_size

    def put(
        self,
        conn: swiftclient.Connection,
        name: str,
        source: Source,
        written: list[str],
        max_segments: int,
    ) -> None:
        """``source`` as segments of ``chunk_size`` plus a manifest named ``name`` (an empty
        object when there is no data); each segment's name goes to ``written`` before it is
        PUT, so that a failure can remove it."""
        group = f"{name}.{secrets.token_hex(6)}"
        manifest: list[dict[str, Any]] = []
        too_large = errors.StoreFull(
            f"Image too large for the store: over {max_segments} segments of "
            f"{self.chunk_size // MiB} MiB"
        )
        if (source.expected or 0) > max_segments * self.chunk_size:
            raise too_large
        while first := source.read(BLOCK):
            if len(manifest) == max_segments:
                raise too_large
            segment = f"{group}/{len(manifest) + 1:06d}"
            written.append(segment)
            conn.head_container(self.segments)  # renews the token between long segment PUTs
            start = source.size - len(first)
            etag = conn.put_object(self.segments, segment, source.body(first, self.chunk_size))
            manifest.append(
                {
                    "path": f"/{self.segments}/{segment}",
                    "etag": etag,
                    "size_bytes": source.size - start,
                }
            )
        if not manifest:  # no data: an empty object, not a manifest of nothing
            conn.put_object(self.container, name, b"")
            return
        conn.put_object(
            self.container,
            name,
            json.dumps(manifest),
            query_string="multipart-manifest=put",
            headers={SEGMENTS_META: group},
        )

    def delete(self, conn: swiftclient.Connection, group: str) -> None:
        for segment in listing(conn, self.segments, prefix=f"{group}/"):
            delete_object(conn, self.segments, segment["name"])

    def partials(self, conn: swiftclient.Connection) -> list[PartialFile]:
        """Groups of segments that no manifest names; a group's time is its newest
        segment's."""
        groups: dict[str, float] = {}
        for segment in listing(conn, self.segments):
            group = segment["name"].split("/", 1)[0]
            if GROUP.match(group):
                modified = _timestamp(segment["last_modified"])
                groups[group] = max(groups.get(group, modified), modified)
        found = []
        for group, modified in sorted(groups.items()):
            image_id = group.split(".", 1)[0]
            if self._manifest_group(conn, image_id) != group:
                found.append(PartialFile(name=group, image_id=image_id, modified=modified))
        return found

    def _manifest_group(self, conn: swiftclient.Connection, name: str) -> str | None:
        try:
            group: str | None = conn.head_object(self.container, name).get(SEGMENTS_META.lower())
        except ClientException as exc:
            if exc.http_status == 404:
                return None
            raise
        return group


def listing(
    conn: swiftclient.Connection, container: str, prefix: str | None = None
) -> list[dict[str, Any]]:
    """Every object of ``container`` (under ``prefix``); a missing container has none."""
    try:
        _, objects = conn.get_container(container, prefix=prefix, full_listing=True)
    except ClientException as exc:
        if exc.http_status == 404:
            return []
        raise
    return list(objects)


def delete_object(conn: swiftclient.Connection, container: str, name: str) -> None:
    """Delete one object; one already gone is no error."""
    try:
        conn.delete_object(container, name)
    except ClientException as exc:
        if exc.http_status != 404:
            raise


def _timestamp(last_modified: str) -> float:
    """Seconds since the epoch of a listing's ``last_modified`` (ISO 8601, UTC, no zone)."""
    moment = datetime.datetime.fromisoformat(last_modified)
    return moment.replace(tzinfo=datetime.UTC).timestamp()
