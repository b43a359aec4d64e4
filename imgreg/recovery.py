"""The reaper: repairs what killed uploads leave behind. Runs in ``imgreg-api``'s master before
it forks workers, and in ``imgreg-manage scrub``; safe while other servers serve.

1. every image still ``saving`` after its upload lease expired goes back to ``queued`` with no
   size, checksums or locations (a guarded update: an upload that renewed meanwhile keeps it);
2. every blob no row points at is deleted, unless its image's upload still holds its lease
   (that upload renamed its blob into place and is about to commit);
3. every partial file older than the lease is deleted, unless its upload holds its lease.

The store is listed before the database is read, so a blob an upload renames into place and
commits meanwhile is either not listed or already owned.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from imgreg.db import maintenance
from imgreg.domain import errors
from imgreg.domain.image import utcnow
from imgreg.services import Services

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Reaped:
    images: list[str] = dataclasses.field(default_factory=list)  # back to queued
    blobs: list[str] = dataclasses.field(default_factory=list)  # orphans deleted
    partials: list[str] = dataclasses.field(default_factory=list)  # stale partials deleted

    def __str__(self) -> str:
        return (
            f"{len(self.images)} expired upload(s) back to queued, "
            f"{len(self.blobs)} orphan blob(s) and {len(self.partials)} partial file(s) removed"
        )


def blob_image_id(url: str) -> str:
    """Blob URLs end with the id of the image they were written for (``Store.list_blobs``),
    or with it and the snapshot ``/snap`` (RBD's, as Glance names them)."""
    parts = url.rstrip("/").split("/")
    if len(parts) > 1 and url.startswith("rbd://") and parts[-1] == "snap":
        return parts[-2]
    return parts[-1]


def _removed(remove: Callable[[str], None], what: str) -> bool:
    """One removal; a store error (the data still in use, say) is logged and left to the
    next round, so that it does not stop this one."""
    try:
        remove(what)
    except errors.ImgregError as exc:
        LOG.warning("reaper: could not remove %s (next round retries): %s", what, exc)
        return False
    return True


def reap(svc: Services) -> Reaped:
    lease = svc.conf.upload_lease_seconds
    blobs = svc.store.list_blobs()
    partials = svc.store.list_partials()
    now = utcnow()
    done = Reaped()
    for image_id in maintenance.expired_uploads(svc.db, now):
        if maintenance.reclaim_upload(svc.db, image_id, now):
            LOG.warning("reaper: image %s was saving past its upload lease; now queued", image_id)
            done.images.append(image_id)
    owned = maintenance.owned_urls(svc.db)
    live = maintenance.live_uploads(svc.db, utcnow())
    for url in blobs:
        if url not in owned and blob_image_id(url) not in live:
            LOG.warning("reaper: removing blob %s, which no image owns", url)
            if _removed(svc.store.delete, url):
                done.blobs.append(url)
    stale = time.time() - lease
    for partial in partials:
        if partial.modified < stale and partial.image_id not in live:
            LOG.warning("reaper: removing partial upload %s", partial.name)
            if _removed(svc.store.delete_partial, partial.name):
                done.partials.append(partial.name)
    return done
