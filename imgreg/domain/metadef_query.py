"""``NamespaceQuery``: what a caller asks of ``GET /v2/metadefs/namespaces``, parsed by the API,
scoped to its ``Viewer`` by the authorization layer, run by ``imgreg.db.metadefs``."""

from __future__ import annotations

import dataclasses

SORT_KEYS = ("created_at", "updated_at", "namespace")


@dataclasses.dataclass(frozen=True)
class Viewer:
    """Whose namespaces a list may show: all (admin), or the public ones and those owned by
    ``project`` (never matched when it is ``None``)."""

    admin: bool
    project: str | None


@dataclasses.dataclass(frozen=True)
class NamespaceQuery:
    viewer: Viewer
    limit: int
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    visibility: str | None = None
    resource_types: tuple[str, ...] = ()
