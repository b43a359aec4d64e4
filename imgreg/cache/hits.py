"""Serving a cached copy: ``open_hit`` gives a reader over the copy only if it is still the
image's data.

A copy is served only when its catalog row and file agree with the image (size, multihash) and
the whole file matches the CRC-32 taken when it was written, checked before the first byte goes
out (skipped, as for the filesystem store, when the file was checked within
``download_verify_interval`` and has not been modified since: the ``user.imgreg.verified``
xattr). A copy that fails any of this is evicted and the caller reads the store instead, so a
corrupted copy is never served, whole or in part.
"""

from __future__ import annotations

import logging

from imgreg.cache.catalog import Catalog, Entry
from imgreg.cache.layout import Layout, unlink
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.store.file_reader import FileReader

LOG = logging.getLogger(__name__)
BLOCK = 4 * 1024 * 1024


def evict(layout: Layout, catalog: Catalog, image_id: str) -> None:
    catalog.remove(image_id)
    unlink(layout.entry(image_id))


def _matches(entry: Entry, image: Image) -> bool:
    return (
        entry.size == image.size
        and entry.hash_value == image.os_hash_value
        and (image.crc32 is None or image.crc32 == entry.crc32)
    )


def open_hit(
    layout: Layout,
    catalog: Catalog,
    image: Image,
    span: tuple[int, int] | None,
    verify_interval: float,
) -> FileReader | None:
    """A reader over the copy's bytes ``span`` (inclusive; None: all), or None on a miss."""
    entry = catalog.get(image.id)
    if entry is None:
        return None
    if not _matches(entry, image):
        LOG.warning("image %s: cached copy is not the image's data; evicted", image.id)
        evict(layout, catalog, image.id)
        return None
    path = layout.entry(image.id)
    try:
        whole = FileReader(path, 0, entry.size, BLOCK)
    except FileNotFoundError:
        catalog.remove(image.id)
        return None
    try:
        if not whole.verified_within(entry.crc32, verify_interval):
            crc = whole.crc32()
            if crc != entry.crc32:
                LOG.error(
                    "image %s: cached copy fails its checksum (crc32 %08x, expected %08x); "
                    "evicted, served from the store",
                    image.id,
                    crc,
                    entry.crc32,
                )
                whole.close()
                evict(layout, catalog, image.id)
                return None
            whole.mark_verified(entry.crc32)
    except Exception:
        whole.close()
        LOG.exception("image %s: cached copy unreadable; evicted", image.id)
        evict(layout, catalog, image.id)
        return None
    try:
        catalog.hit(image.id)
    except errors.ServiceUnavailable as exc:  # the copy is good: serve it, uncounted
        LOG.warning("image %s: cache hit not recorded: %s", image.id, exc)
    if span is None:
        return whole
    whole.close()
    first, last = span
    try:
        return FileReader(path, first, last - first + 1, BLOCK)
    except FileNotFoundError:  # evicted meanwhile
        return None
