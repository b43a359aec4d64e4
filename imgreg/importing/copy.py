"""The ``copy-image`` import of an active image to other stores (``CopyJob``, in the background
as every import); each copy is written by ``imgreg.importing.blob_copy``.

copy-image keeps the image ``active`` throughout, under the copy lease
(``imgreg.db.copies``): each copy becomes a location only while the lease is held, so a copy
whose worker died adds nothing; the reaper releases its lease and removes what it wrote once
the lease expired, and the next copy-image starts afresh. As Glance: the image says in
``os_glance_importing_to_stores`` which stores are still to do and in ``os_glance_failed_import``
which failed; with ``all_stores_must_succeed`` (the default) one failure removes the copies this
import made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging

from imgreg import faults
from imgreg.context import RequestContext
from imgreg.db.repo import SqlImageRepo
from imgreg.domain import errors
from imgreg.domain.image import FAILED_IMPORT, IMPORT_TASK, IMPORTING_TO, Image
from imgreg.domain.ports import TaskRepo
from imgreg.domain.task import Task
from imgreg.importing import flow
from imgreg.importing.blob_copy import copy_blob
from imgreg.layers.copies import CopyLease, copy_in
from imgreg.services import Services

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024


@dataclasses.dataclass
class CopyJob:
    svc: Services
    ctx: RequestContext
    tasks: TaskRepo
    task: Task
    image_id: str
    stores: list[str]
    must_succeed: bool
    lease: CopyLease
    made: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)


def start(svc: Services, image: Image, task: Task, stores: list[str]) -> CopyLease:
    """Take the copy lease of ``image`` for ``task`` and mark the image as Glance does (409 if
    another copy or an upload holds it). The caller records the task, then ``submit``s."""
    lease = CopyLease(svc.db, svc.conf, image.id, task.id)
    lease.take()
    try:
        _mark(svc, image.id, task_id=task.id, importing=stores, clear_failed=stores)
    except BaseException:
        lease.abandon()
        raise
    return lease


def abandon(svc: Services, image_id: str, lease: CopyLease) -> None:
    """Undo ``start`` (the task could not be recorded)."""
    with contextlib.suppress(Exception):
        _mark(svc, image_id, end=True)
    lease.abandon()


def run(job: CopyJob) -> None:
    """The whole copy; never raises (it runs where nobody would see it)."""
    task = job.task
    current = ""
    try:
        task.begin_processing()
        job.tasks.save(task, from_status="pending")
        faults.hit("copy_started")
        with flow.KeepAlive(job.lease.renew, job.svc.conf.upload_lease_seconds / 3, job.image_id):
            for current in job.stores:
                _copy_one(job, current)
                _mark(job.svc, job.image_id, done=[current], failed=job.failed)
        current = ""
    except BaseException as exc:
        _failed(job, current, exc)
        if not isinstance(exc, Exception):
            raise
        return
    job.lease.release()  # first: the lease is held by the task the properties name
    _mark(job.svc, job.image_id, end=True, failed=job.failed)
    LOG.info("copied image %s to %s", job.image_id, ",".join(job.stores))
    task.succeed({"image_id": job.image_id}, f"Copied to {len(job.made)} store(s)")
    task.ended(flow.task_ttl(job.svc))
    flow.save_task(job.tasks, task, "processing")


def _copy_one(job: CopyJob, store_id: str) -> None:
    image = SqlImageRepo(job.svc.db).get(job.image_id)
    if copy_in(image, store_id) is not None:
        return  # there already (a location another request added)
    try:
        url = copy_blob(job.svc, image, store_id)
    except errors.ImgregError:
        if job.must_succeed:
            raise
        LOG.warning("image %s: copy to %s failed; the others go on", job.image_id, store_id)
        job.failed.append(store_id)
        return
    faults.hit("copy_before_attach")
    try:
        job.lease.attach(url, store_id)
    except BaseException:
        job.svc.store.delete(url)
        raise
    job.made.append(url)


def _failed(job: CopyJob, store_id: str, exc: BaseException) -> None:
    message = exc.message if isinstance(exc, errors.ImgregError) else "an internal error"
    if isinstance(exc, errors.ImgregError):
        LOG.warning("copy of image %s failed: %s", job.image_id, message)
    else:
        LOG.exception("copy of image %s failed", job.image_id)
    task = job.task
    with contextlib.suppress(errors.ImgregError):
        before = task.status
        task.fail(f"Copy of image {job.image_id} failed: {message}")
        task.ended(flow.task_ttl(job.svc))
        flow.save_task(job.tasks, task, before)
    for url in job.made:  # all_stores_must_succeed: none of this import's copies stays
        try:
            job.lease.detach(url)
            job.svc.store.delete(url)
        except Exception:
            LOG.exception("image %s: copy %s left for the reaper", job.image_id, url)
    failed = [*job.failed, store_id] if store_id else job.failed
    with contextlib.suppress(Exception):
        job.lease.release()
    try:
        _mark(job.svc, job.image_id, end=True, failed=failed)
    except Exception:
        LOG.exception("image %s not marked as failed", job.image_id)


def _mark(
    svc: Services,
    image_id: str,
    task_id: str | None = None,
    importing: list[str] | None = None,
    clear_failed: list[str] | None = None,
    done: list[str] | None = None,
    failed: list[str] | None = None,
    end: bool = False,
) -> None:
    """The import's properties, as Glance keeps them."""
    images = SqlImageRepo(svc.db)
    image = images.get(image_id)
    props = image.extra_properties

    def names(key: str) -> set[str]:
        return {n for n in props.get(key, "").split(",") if n}

    to_do = names(IMPORTING_TO) | set(importing or ())
    to_do -= set(done or ())
    failed_now = (names(FAILED_IMPORT) - set(clear_failed or ())) | set(failed or ())
    if task_id is not None:
        props[IMPORT_TASK] = task_id
    if end:
        props.pop(IMPORT_TASK, None)
        to_do = set()
    props[IMPORTING_TO] = ",".join(sorted(to_do))
    props[FAILED_IMPORT] = ",".join(sorted(failed_now))
    images.save(image)
