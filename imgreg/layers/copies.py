"""An active image's copies in several stores, at the level of the chain: the order copies are
read in, the removal of one copy (``DELETE /v2/stores/{store_id}/{image_id}``), and the lease
a ``copy-image`` import holds while it adds copies (``imgreg.importing.copy``). The records are
``imgreg.db.copies``; the blobs are the stores'.
"""

from __future__ import annotations

import datetime as dt
import logging

from oslo_config import cfg

from imgreg.db import copies
from imgreg.db.session import Database
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.store.registry import Stores

LOG = logging.getLogger(__name__)


def read_order(stores: Stores, image: Image, prefer: tuple[str, ...] = ()) -> list[str]:
    """The image's copies in the order a download tries them: those in the ``prefer`` stores
    first (in that order), then by store weight, highest first; copies of equal rank in the
    order they were made."""
    rank = {store_id: i for i, store_id in enumerate(prefer)}

    def key(url: str) -> tuple[int, int]:
        store_id = image.store_of(url)
        return rank.get(store_id or "", len(rank)), -stores.weight(store_id)

    return sorted(image.locations, key=key)


def copy_in(image: Image, store_id: str) -> str | None:
    """The URL of the image's copy in ``store_id``, if it has one."""
    return next((u for u in image.locations if image.store_of(u) == store_id), None)


def remove_from_store(db: Database, stores: Stores, image: Image, store_id: str) -> None:
    """Remove the image's copy in ``store_id``: its location first (under the image's row
    lock, refused while a copy runs, for the last copy, or unless active), then its blob (a
    blob that stays, its store failing, is an orphan the reaper removes)."""
    url = copy_in(image, store_id)
    if url is None:
        raise errors.NotFound(f"Image {image.id} is not stored in store {store_id}.")
    if stores.in_use(url):
        raise errors.Conflict(
            f"The data for Image {image.id} could not be deleted because it is in use"
        )
    copies.remove(db, image.id, url)
    try:
        stores.delete(url)
    except errors.ImgregError as exc:
        LOG.warning("image %s: copy %s left for the reaper: %s", image.id, url, exc)


class CopyLease:
    """The lease of one copy-image import (task ``task_id``) over the active image."""

    def __init__(self, db: Database, conf: cfg.ConfigOpts, image_id: str, task_id: str) -> None:
        self.db = db
        self.image_id = image_id
        self.task_id = task_id
        self.lease = dt.timedelta(seconds=conf.upload_lease_seconds)

    def take(self) -> None:
        copies.take_lease(self.db, self.image_id, self.lease)

    def renew(self) -> None:
        copies.renew_lease(self.db, self.image_id, self.task_id, self.lease)

    def attach(self, url: str, store_id: str) -> None:
        copies.attach(self.db, self.image_id, self.task_id, url, store_id)

    def detach(self, url: str) -> None:
        copies.detach(self.db, self.image_id, url)

    def release(self) -> None:
        copies.drop_lease(self.db, self.image_id, self.task_id)

    def abandon(self) -> None:
        """Drop the lease whoever holds it (the request that took it failed before its task
        was recorded)."""
        copies.drop_lease(self.db, self.image_id)
