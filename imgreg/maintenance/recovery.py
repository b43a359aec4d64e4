"""The reaper: repairs what killed uploads leave behind. Runs periodically in every server
process and in ``imgreg-manage scrub``, one process at a time across the nodes sharing the
database (``imgreg.maintenance.reaper``); safe while other processes serve.

1. every image still ``saving`` (``uploading`` while staged data arrives, ``importing``) after
   its lease expired goes back to ``queued`` with no size, checksums or locations (a guarded
   update: an upload that renewed meanwhile keeps it); an import's task is failed, saying why;
   an active image whose copy to other stores (copy-image) lost its lease keeps its status and
   the copies already recorded, loses the lease (a new copy may start), and its task is failed;
2. every blob no row points at is deleted, unless its image's upload still holds its lease
   (that upload renamed its blob into place and is about to commit), judged again on
   committed state with the image's row locked while it is deleted, and only once the row has
   settled (unchanged for a lease, or taken back to ``queued`` by this sweep); a blob whose id
   no image row has at all is not imgreg's (a Glance still writing to the store it shares
   with an imgreg that adopted it) and is left alone;
3. every partial file older than the lease is deleted, unless its upload holds its lease;
4. every import task its dead worker left unfinished after settling the image is failed
   (``imgreg.maintenance.stuck_tasks``);
5. every task whose expiry passed (``task_time_to_live`` after it ended) is soft-deleted;
6. every resumable upload session not touched for ``resumable_upload_expiry`` is deleted
   with its bytes (``imgreg.store.resumable``; its image never left ``queued``), and every
   session's hold on a queued image (its quota reservation, ``imgreg.db.session_holds``)
   whose expiry passed is released, whether its session's files are still there or not (a
   worker killed mid-chunk leaves both; the hold expires with the session).

The store is listed before the database is read, and the live uploads are read before the
owned blobs, so a blob an upload renames into place and commits meanwhile is either not
listed, or live in the first read, or owned in the second.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable

from imgreg.db import copies, maintenance, session_holds
from imgreg.db.repo import SqlImageRepo
from imgreg.db.tasks import SqlTaskRepo
from imgreg.domain import errors
from imgreg.domain.image import FAILED_IMPORT, IMPORT_TASK, IMPORTING_TO, utcnow
from imgreg.maintenance import stuck_tasks
from imgreg.services import Services
from imgreg.store.resumable import SessionSpool

LOG = logging.getLogger(__name__)
# How long a complete blob named by a queued image (not one this sweep took back from an
# upload) stays before it counts as an orphan: Nova's direct snapshot writes the data of a
# new image into the store itself, then adds it as the image's location, minutes later for a
# large disk. Not a queued image whose own upload ended (``upload_expires_at`` set: failed,
# or taken back by a sweep): its blob is that upload's, one whose removal failed.
QUEUED_BLOB_GRACE = 24 * 3600


@dataclasses.dataclass
class Reaped:
    images: list[str] = dataclasses.field(default_factory=list)  # back to queued
    blobs: list[str] = dataclasses.field(default_factory=list)  # orphans deleted
    partials: list[str] = dataclasses.field(default_factory=list)  # stale partials deleted
    tasks: int = 0  # expired tasks deleted
    stuck: list[str] = dataclasses.field(default_factory=list)  # unfinished tasks failed
    sessions: list[str] = dataclasses.field(default_factory=list)  # expired resumable uploads
    holds: list[str] = dataclasses.field(default_factory=list)  # their images' holds released

    def __str__(self) -> str:
        return (
            (
                f"{len(self.images)} expired upload(s) back to queued, "
                f"{len(self.blobs)} orphan blob(s) and {len(self.partials)} partial file(s) "
                f"removed, {len(self.stuck)} stuck task(s) failed, {self.tasks} expired task(s) "
                "deleted"
            )
            + (
                f", {len(self.sessions)} expired resumable upload(s) removed"
                if self.sessions
                else ""
            )
            + (f", {len(self.holds)} expired session hold(s) released" if self.holds else "")
        )

    def __bool__(self) -> bool:
        return bool(
            self.images
            or self.blobs
            or self.partials
            or self.stuck
            or self.tasks
            or self.sessions
            or self.holds
        )


def blob_image_id(url: str) -> str:
    """Blob URLs end with the id of the image they were written for (``Store.list_blobs``),
    or with it and the snapshot ``/snap`` (RBD's, as Glance names them)."""
    parts = url.rstrip("/").split("/")
    if len(parts) > 1 and url.startswith("rbd://") and parts[-1] == "snap":
        return parts[-2]
    return parts[-1]


def fail_import(svc: Services, image_id: str) -> None:
    """An image taken back from ``importing`` (or a copy): its import's lock goes, the image
    says the import failed (``os_glance_failed_import``, which clients wait on) and its task
    says why."""
    images = SqlImageRepo(svc.db)
    try:
        image = images.get(image_id)
    except errors.NotFound:
        return
    task_id = image.extra_properties.get(IMPORT_TASK)
    if task_id is None:
        return
    image.end_import(failed_stores=_unfinished(svc, image.extra_properties))
    tasks = SqlTaskRepo(svc.db, dt.timedelta(hours=svc.conf.task.task_time_to_live))
    # the task first: a client that sees os_glance_failed_import finds the task's reason
    try:
        task = tasks.get(task_id)
        before = task.status
        task.fail(
            f"Import of image {image_id} stopped: the worker running it went away (its lease "
            "expired). The image is queued again and can be imported anew."
        )
        tasks.save(task, from_status=before)
    except errors.ImgregError as exc:  # the task had ended or expired
        LOG.info("reaper: task %s of image %s not failed: %s", task_id, image_id, exc.message)
    try:
        images.save(image)
    except errors.ImgregError as exc:  # deleted meanwhile
        LOG.info("reaper: import of image %s not marked failed: %s", image_id, exc.message)


def _unfinished(svc: Services, properties: dict[str, str]) -> str:
    """The stores a dead import never finished: those it was still importing to, and those
    it had failed already (the one store, with a single store)."""
    if not svc.store.multiple:
        return str(svc.conf.glance_store.default_store)
    names = {
        name
        for key in (IMPORTING_TO, FAILED_IMPORT)
        for name in properties.get(key, "").split(",")
        if name
    }
    return ",".join(sorted(names))


def _removed(remove: Callable[[str], None], what: str) -> bool:
    """One removal; a store error (the data still in use, say) is logged and left to the
    next round, so that it does not stop this one."""
    try:
        remove(what)
    except errors.ImgregError as exc:
        LOG.warning("reaper: could not remove %s (next round retries): %s", what, exc)
        return False
    return True


def _nothing() -> None:
    pass


def reap(svc: Services, heartbeat: Callable[[], None] = _nothing) -> Reaped:
    """One sweep. ``heartbeat`` is called before each step that changes something (the
    periodic reaper renews its cluster-wide lock there, and raises to stop when it lost it)."""
    lease = svc.conf.upload_lease_seconds
    blobs = svc.store.list_blobs()
    partials = svc.store.list_partials()
    heartbeat()
    now = utcnow()
    done = Reaped()
    for image_id, status in maintenance.expired_holds(svc.db, now):
        if maintenance.reclaim_upload(svc.db, image_id, now):
            LOG.warning(
                "reaper: image %s was %s past its upload lease; now queued", image_id, status
            )
            done.images.append(image_id)
            if status == "importing":
                fail_import(svc, image_id)
    for image_id in copies.expired(svc.db, now):
        if copies.reclaim(svc.db, image_id, now):
            LOG.warning(
                "reaper: the copy of image %s to other stores ended with its lease", image_id
            )
            done.images.append(image_id)
            fail_import(svc, image_id)
    live = maintenance.live_uploads(svc.db, utcnow())
    owned = maintenance.owned_urls(svc.db)
    settled = utcnow() - dt.timedelta(seconds=lease)
    settled_queued = utcnow() - dt.timedelta(seconds=max(lease, QUEUED_BLOB_GRACE))
    reclaimed = set(done.images)
    for url in blobs:
        image_id = blob_image_id(url)
        if url in owned or image_id in live:
            continue
        heartbeat()
        with maintenance.orphan_blob(
            svc.db, url, image_id, settled, reclaimed, settled_queued
        ) as orphan:
            if orphan is None:
                LOG.debug("reaper: blob %s names no image imgreg has; left alone", url)
            elif not orphan:
                LOG.info("reaper: blob %s is not settled yet; a later round judges it", url)
            elif _removed(svc.store.delete, url):
                LOG.warning("reaper: removed blob %s, which no image owns", url)
                done.blobs.append(url)
    stale = time.time() - lease
    for partial in partials:
        if partial.modified < stale and partial.image_id not in live:
            heartbeat()
            LOG.warning("reaper: removing partial upload %s", partial.name)
            if _removed(svc.store.delete_partial, partial.name):
                done.partials.append(partial.name)
    heartbeat()
    done.stuck = stuck_tasks.fail_stuck(svc)
    heartbeat()
    ttl = dt.timedelta(hours=svc.conf.task.task_time_to_live)
    done.tasks = SqlTaskRepo(svc.db, ttl).delete_expired(utcnow())
    if done.tasks:
        LOG.info("reaper: deleted %d expired task(s)", done.tasks)
    if svc.conf.resumable_upload_dir:
        spool = SessionSpool(svc.conf.resumable_upload_dir, svc.conf.resumable_upload_expiry)
        done.sessions = spool.reap()
        if done.sessions:
            LOG.info("reaper: removed %d expired resumable upload(s)", len(done.sessions))
    done.holds = session_holds.release_expired(svc.db, utcnow())
    if done.holds:
        LOG.info("reaper: released the hold of %d expired resumable upload(s)", len(done.holds))
    return done
