"""One import, run in the background of the worker that accepted it (as Glance's task
executor), over the upload session the request opened (``ImageRepo.begin_upload`` with the
image already ``importing``: the chain checked it once, the database holds the lease).

    glance-direct   the staged blob becomes the image's data, as it is (no copy), unless a
                    plugin changes the data: then it is read to a scratch file, changed there,
                    and written back in its place
    web-download    the URI is fetched (``imgreg.importing.web``: every hop filtered) into the
                    session, or to a scratch file first when a plugin needs the whole data
    glance-download as web-download, from another region's image service, as the caller,
                    after its formats and some of its properties were copied onto the image
                    (``imgreg.importing.glance_download``)

The lease is renewed while the import works (``KeepAlive``); a worker that dies stops renewing
it, and the reaper takes the image back to ``queued`` and fails the task once it expired. On
any failure the session is aborted (the image back to ``queued``, no data left), the image
says so in ``os_glance_failed_import`` and the task's message says why.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

from imgreg import faults
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import IMPORT_TASK
from imgreg.domain.ports import ImageRepo, TaskRepo, UploadSession
from imgreg.domain.task import Task
from imgreg.importing import glance_download, plugins, web
from imgreg.importing.blob_copy import ReaderStream, copy_blob
from imgreg.layers.copies import copy_in
from imgreg.services import Services

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024
COPY_BLOCK = 4 * MiB
_POOL: concurrent.futures.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_RUNNING: set[concurrent.futures.Future[None]] = set()


def task_ttl(svc: Services) -> dt.timedelta:
    return dt.timedelta(hours=svc.conf.task.task_time_to_live)


def store_name(svc: Services) -> str:
    """The name clients see for the one store (``os_glance_failed_import``)."""
    return str(svc.conf.glance_store.default_store)


@dataclasses.dataclass
class ImportJob:
    svc: Services
    ctx: RequestContext
    images: ImageRepo  # the chain the request built, for the saves after the session
    tasks: TaskRepo
    task: Task
    session: UploadSession
    method: str
    uri: str | None = None
    # several stores: where the data goes (the session writes to the first; the others get
    # copies of it) and whether a failed copy fails the import (else the store is listed in
    # os_glance_failed_import and the import goes on)
    stores: list[str] = dataclasses.field(default_factory=list)
    must_succeed: bool = True
    copies: list[str] = dataclasses.field(default_factory=list)  # made by this import
    current: str = ""  # the store a copy is being made to


def submit(job: ImportJob) -> None:
    """Run ``job`` on the worker's import threads; the request returns 202 meanwhile."""
    spawn(run, job)


def spawn(target: Callable[[Any], None], job: object) -> None:
    """Run ``target(job)`` on the worker's import threads (an import, a copy)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="imgreg-import")
        _RUNNING.add(_POOL.submit(target, job))
        _RUNNING.difference_update({f for f in _RUNNING if f.done()})


def wait_idle(timeout: float) -> bool:
    """Wait until every submitted import has ended (a server stopping, a test tearing its
    database down); False if some still run after ``timeout`` seconds."""
    with _POOL_LOCK:
        running = list(_RUNNING)
    _done, pending = concurrent.futures.wait(running, timeout=timeout)
    return not pending


class KeepAlive:
    """Calls ``renew`` (a lease's) every ``interval`` seconds while an import works on
    something other than the session's own stream (plugins, a fetch to a scratch file, a
    copy to another store)."""

    def __init__(self, renew: Callable[[], None], interval: float, image_id: str) -> None:
        self.renew = renew
        self.image_id = image_id
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="imgreg-import-lease", daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.renew()
            except errors.ImgregError as exc:
                LOG.warning("import of image %s lost its lease: %s", self.image_id, exc)
                return

    def __enter__(self) -> KeepAlive:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def run(job: ImportJob) -> None:
    """The whole import; never raises (it runs where nobody would see it)."""
    task, session = job.task, job.session
    try:
        task.begin_processing()
        job.tasks.save(task, from_status="pending")
        faults.hit("import_started")
        with KeepAlive(session.renew, job.svc.conf.upload_lease_seconds / 3, session.image.id):
            _move_data(job)
            failed = _copy_to_others(job)
        faults.hit("import_before_commit")
        session.image.end_import(failed_stores=",".join(failed))
        image = session.commit()
    except BaseException as exc:
        _failed(job, exc)
        if not isinstance(exc, Exception):
            raise
        return
    LOG.info("imported image %s (%s, %s bytes)", image.id, job.method, image.size)
    task.succeed({"image_id": image.id}, f"Copied {(image.size or 0) // MiB} MiB")
    task.ended(task_ttl(job.svc))
    _save_task(job, "processing")


def _move_data(job: ImportJob) -> None:
    svc, session = job.svc, job.session
    image = session.image
    local = plugins.needs_local_copy(svc.conf)
    if job.method == "glance-direct" and not local:
        _take_staged(job)
        return
    expected: int | None = None  # the size the data must have (glance-download)
    if job.method != "glance-direct":
        source, expected = _open_source(job)
        if not local:
            try:
                session.write(cast(BinaryIO, source), expected)
            finally:
                source.close()
            if expected is not None and image.size != expected:
                raise glance_download.wrong_size(image.size or 0, expected)
            return
    with scratch_dir(svc) as work:
        path = os.path.join(work, "data")
        if job.method == "glance-direct":
            staged = image.locations[0]
            _copy_to(svc.store.open(staged), path)
            # the store writes the result under the image's name: make room for it
            svc.store.delete(staged)
        else:
            try:
                _copy_to(source, path, svc.conf.image_size_cap)
            finally:
                source.close()
            if expected is not None and os.path.getsize(path) != expected:
                raise glance_download.wrong_size(os.path.getsize(path), expected)
        result = plugins.run_plugins(path, image.disk_format or "", job.ctx.roles, svc.conf)
        if result.disk_format:
            image.disk_format = result.disk_format
        image.extra_properties.update(result.properties)
        if image.status != "importing":  # write() decides by status; a stage is not
            raise errors.Conflict(f"Image {image.id} is no longer importing")
        with open(result.path, "rb") as data:
            session.write(data, os.fstat(data.fileno()).st_size)


def _take_staged(job: ImportJob) -> None:
    """The staged data becomes the image's: as it is when it is in one of the target stores
    (or there is one store), else copied into the first target and then deleted."""
    session, stores = job.session, job.svc.store
    image = session.image
    staged = image.locations[0] if image.locations else None
    if staged is None or not job.stores or image.store_of(staged) in job.stores:
        session.adopt()
        return
    reader = stores.open(staged)
    try:
        session.write(cast(BinaryIO, ReaderStream(reader)), reader.size)
    finally:
        reader.close()
    stores.delete(staged)


def _copy_to_others(job: ImportJob) -> list[str]:
    """Copies of the data, now in the first store, into the other target stores (several
    stores); the stores that failed, when ``all_stores_must_succeed`` is false."""
    image = job.session.image
    failed = []
    for store_id in job.stores:
        if copy_in(image, store_id) is not None:
            continue
        job.current = store_id
        try:
            url = copy_blob(job.svc, image, store_id)
        except errors.ImgregError as exc:
            if job.must_succeed:
                raise
            LOG.warning("import of image %s: the copy to %s failed: %s", image.id, store_id, exc)
            failed.append(store_id)
            continue
        job.copies.append(url)
        image.add_location(url, {"store": store_id})
    job.current = ""
    return failed


def _open_source(job: ImportJob) -> tuple[web.WebSource, int | None]:
    """The data of a web-download or glance-download, and its size if known beforehand
    (glance-download: the remote image's, whose metadata is copied onto the image first)."""
    if job.method == "glance-download":
        method = job.task.input["import_req"]["method"]
        remote = glance_download.remote(job.ctx, method)
        size = glance_download.import_metadata(remote, job.session.image, job.svc.conf)
        return glance_download.open_data(remote, job.svc.conf, size), size
    return web.open_uri(job.uri or "", job.svc.conf), None


@contextlib.contextmanager
def scratch_dir(svc: Services) -> Iterator[str]:
    base = svc.conf.task.work_dir or None
    work = tempfile.mkdtemp(prefix="imgreg-import-", dir=base)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy_to(source: object, path: str, cap: int | None = None) -> None:
    """Stream ``source`` (a reader with ``read`` or an iterable of blocks) into ``path``,
    refusing more than ``cap`` bytes."""
    written = 0
    with open(path, "wb") as out:
        for block in _blocks(source):
            written += len(block)
            if cap is not None and written > cap:
                raise errors.QuotaExceeded("The incoming image is too large")
            out.write(block)
    close = getattr(source, "close", None)
    if close is not None:
        close()


def _blocks(source: object) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is None:
        yield from cast(Iterator[bytes], source)
        return
    while block := read(COPY_BLOCK):
        yield block


def _failed(job: ImportJob, exc: BaseException) -> None:
    image_id = job.session.image.id
    message = exc.message if isinstance(exc, errors.ImgregError) else "an internal error"
    if not isinstance(exc, errors.ImgregError):
        LOG.exception("import of image %s failed", image_id)
    else:
        LOG.warning("import of image %s failed: %s", image_id, message)
    # the task first, then the image's mark, then back to queued: a client that sees the
    # image queued again sees the mark, and one that sees the mark finds the task's reason
    task = job.task
    with contextlib.suppress(errors.ImgregError):
        before = task.status
        task.fail(f"Import of image {image_id} failed: {message}")
        task.ended(task_ttl(job.svc))
        _save_task(job, before)
    try:
        image = job.images.get(image_id)
        if image.extra_properties.get(IMPORT_TASK) == task.id:  # not a later import's
            image.end_import(failed_stores=_failed_stores(job))
            job.images.save(image)
    except errors.ImgregError as err:  # deleted meanwhile, say: the task still says why
        LOG.info("image %s not marked as failed: %s", image_id, err.message)
    except Exception:
        LOG.exception("image %s not marked as failed", image_id)
    job.session.abort()  # never raises: logs what it could not undo
    for url in job.copies:  # the other stores' copies: none of a failed import's stays
        try:
            job.svc.store.delete(url)
        except Exception:
            LOG.exception("image %s: copy %s left for the reaper", image_id, url)


def _failed_stores(job: ImportJob) -> str:
    """Where a failed import failed: the one store; with several, the one it was writing to
    (the first, unless a copy to another failed), as Glance lists it."""
    if not job.stores:
        return store_name(job.svc)
    return job.current or job.stores[0]


def _save_task(job: ImportJob, before: str) -> None:
    save_task(job.tasks, job.task, before)


def save_task(tasks: TaskRepo, task: Task, before: str) -> None:
    """The task's end, saved from ``before`` (so ``task.success``/``task.failure`` is sent)."""
    try:
        tasks.save(task, from_status=before)
    except errors.ImgregError as exc:  # the reaper failed it first (its lease had run out)
        LOG.info("task %s not saved: %s", task.id, exc.message)
    except Exception:
        LOG.exception("task %s could not be saved", task.id)
