"""Which location URLs an image may have: only its own blob, in a configured store.

A location is where imgreg reads, and what it deletes when the location or the image goes. So a
URL a caller gives is accepted only if (1) a configured store owns it in that store's canonical
form (``Stores.resolve``: no other scheme, host, path, credentials or cluster), (2) the blob it
names is named by this image's own id (a location must never alias another image's data:
deleting it would delete theirs), and (3) the blob exists and holds data. Everything else is
400 and changes nothing. The checks only read (open, then close).

A read-only store (http) names no blobs: its URLs are anyone's data, which imgreg never
deletes, so (2) does not apply there; the store's own filter ([import_filtering_opts]) is what
admits a URL, at this check and at every read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from imgreg.domain import errors
from imgreg.store.registry import Stores

INVALID = "Invalid location"


@dataclasses.dataclass(frozen=True)
class CheckedLocation:
    url: str
    metadata: dict[str, Any]  # with the store's id when there are several stores
    store: str
    size: int  # bytes of data at the URL


def check_location(
    stores: Stores, image_id: str, url: str, metadata: dict[str, Any] | None = None
) -> CheckedLocation:
    try:
        store_id, name = stores.resolve(url)
    except errors.NotFound:
        raise errors.Invalid(
            f"{INVALID}: the URL is not an image URL of a configured store."
        ) from None
    if url.startswith("rbd://") and not url.endswith("/snap"):
        # Glance's oldest RBD form (rbd://<id>) names no cluster: only the canonical one
        raise errors.Invalid(f"{INVALID}: RBD locations are rbd://<fsid>/<pool>/<image>/snap.")
    if name != image_id and not stores.read_only(store_id):
        raise errors.Invalid(f"{INVALID}: the URL names the data of another image.")
    metadata = dict(metadata or {})
    given = metadata.get("store")
    if stores.multiple:
        if given is not None and given != store_id:
            raise errors.Invalid(f"{INVALID}: the URL is in store {store_id}, not {given!s:.64}.")
        metadata["store"] = store_id
    try:
        reader = stores.open(url)
    except errors.NotFound:
        raise errors.Invalid(f"{INVALID}: there is no data at the URL.") from None
    try:
        size = reader.size
    finally:
        reader.close()
    if size <= 0:
        raise errors.Invalid(f"{INVALID}: there is no data at the URL.")
    return CheckedLocation(url, metadata, store_id, size)
