"""``POST /v2/images/{id}/locations`` (API 2.17): Glance's ``location_import`` task.

``start`` runs in the request, after the caller was admitted: the URL is checked
(``imgreg.store.location_url``: only the image's own blob in a configured store), then the
image moves queued → importing with the location, the data's size and the task as its lock.
That move is a compare-and-swap on ``queued``, so of two concurrent calls one wins and the
other gets 409. The task is recorded (``GET /v2/images/{id}/tasks`` shows it) and ``run``
goes on in the background:

    do_secure_hash on   the data is read once: size, md5 ``checksum``, the multihash (the
                        validation data's algorithm, else ``hashing_algorithm``) and the
                        CRC-32 downloads are checked against; with validation data, the
                        multihash must be the one given
    do_secure_hash off  the validation data's hash, if any, is taken as given

then the image becomes active and the task succeeds. On any failure the task fails saying why,
the location's data is deleted (Glance deletes the data of a location it drops), and the image
is queued again, as before the call. The ``importing`` lease is renewed while the data is read;
if the worker dies, the reaper puts the image back to queued and fails the task.

The image is active only once its hashes are known (Glance activates an image without
validation data first and hashes it afterwards): nobody boots from data that was not read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import Any

from imgreg.context import RequestContext
from imgreg.db.repo import SqlImageRepo, upload_lease
from imgreg.domain import errors, location_rules
from imgreg.domain.image import IMPORT_TASK, Image
from imgreg.domain.ports import TaskRepo
from imgreg.domain.task import Task
from imgreg.importing import flow
from imgreg.importing.flow import task_ttl
from imgreg.integrity.hashing import DualHasher
from imgreg.layers import build_internal_task_repo
from imgreg.layers.notifier import image_payload
from imgreg.layers.quota import check_data_size
from imgreg.services import Services
from imgreg.store.location_url import check_location

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class LocationJob:
    svc: Services
    tasks: TaskRepo
    task: Task
    image_id: str
    url: str
    validation: dict[str, str]


def _records(svc: Services) -> SqlImageRepo:
    return SqlImageRepo(svc.db, upload_lease(svc.conf))


def busy(image_id: str) -> errors.Conflict:
    return errors.Conflict(
        f"New operation on image '{image_id}' is not permitted as prior operation is still "
        "in progress"
    )


def start(
    svc: Services, ctx: RequestContext, image_id: str, url: str, validation: dict[str, str]
) -> Task:
    """Check the location, lock the image (importing) with it, record the task, and hand the
    rest to the background. The caller was admitted by the chain and the policies."""
    checked = check_location(svc.store, image_id, url)
    records = _records(svc)
    image = records.get(image_id)  # as stored (no layer hid anything from it)
    task = Task.new(
        "location_import",
        ctx.project_id,
        input={"image_id": image_id, "loc_url": url, "validation_data": validation},
        image_id=image_id,
        request_id=ctx.request_id,
        user_id=ctx.user_id,
    )
    image.begin_location_import(task.id)
    image.add_location(url, checked.metadata)
    image.size = checked.size
    location_rules.check_quota(image, svc.conf.image_location_quota)
    check_data_size(image, records.usage(image.owner)[0], svc.conf)
    try:
        records.save(image, from_state="queued")
    except errors.StaleState:
        raise busy(image_id) from None
    svc.notifier.info("image.update", image_payload(image))
    tasks = build_internal_task_repo(ctx, svc)
    try:
        tasks.add(task)
    except BaseException:
        _release(svc, image_id, task.id, url)
        raise
    submit(LocationJob(svc, tasks, task, image_id, url, validation))
    return task


def submit(job: LocationJob) -> None:
    """Run ``job`` on the worker's import threads (``flow.wait_idle`` waits for it too)."""
    flow.spawn(run, job)


def run(job: LocationJob) -> None:
    """The background part; never raises (nobody would see it)."""
    svc, task = job.svc, job.task
    try:
        task.begin_processing()
        job.tasks.save(task, from_status="pending")
        values = _hash(job) if svc.conf.do_secure_hash else _trusted(job.validation)
        records = _records(svc)
        image = records.get(job.image_id)
        if image.status != "importing" or image.extra_properties.get(IMPORT_TASK) != task.id:
            raise errors.Conflict(f"Image {job.image_id} is no longer importing this location")
        for name, value in values.items():
            setattr(image, name, value)
        del image.extra_properties[IMPORT_TASK]
        image.activate()
        records.save(image, from_state="importing")
        for event in ("image.update", "image.activate"):
            svc.notifier.info(event, image_payload(image))
    except BaseException as exc:
        _failed(job, exc)
        if not isinstance(exc, Exception):
            raise
        return
    LOG.info("image %s active with location added by task %s", job.image_id, task.id)
    task.succeed({"image_id": job.image_id}, "")
    task.ended(task_ttl(svc))
    _save_task(job, "processing")


def _trusted(validation: dict[str, str]) -> dict[str, Any]:
    return {k: v.lower() for k, v in validation.items()}


def _hash(job: LocationJob) -> dict[str, Any]:
    """Read the data once: its size and digests; the validation data's hash must match."""
    svc = job.svc
    algo = job.validation.get("os_hash_algo") or svc.conf.hashing_algorithm
    records = _records(svc)
    renew_every = svc.conf.upload_lease_seconds / 3
    renew_at = time.monotonic() + renew_every
    size = 0
    reader = svc.store.open(job.url)
    try:
        with DualHasher(algo) as hasher:
            for block in reader:
                hasher.update(block)
                size += len(block)
                if time.monotonic() >= renew_at:
                    records.renew_upload_lease(job.image_id, "importing")
                    renew_at = time.monotonic() + renew_every
            hasher.close()
    finally:
        reader.close()
    value = hasher.multi.hexdigest()
    wanted = job.validation.get("os_hash_value")
    if wanted is not None and wanted.lower() != value:
        raise errors.Invalid(
            f"os_hash_value: ({wanted[:128]}) not matched with actual os_hash_value: ({value})"
        )
    return {
        "size": size,
        "checksum": hasher.md5.hexdigest(),
        "os_hash_algo": algo,
        "os_hash_value": value,
        "crc32": hasher.crc32,
    }


def _failed(job: LocationJob, exc: BaseException) -> None:
    message = exc.message if isinstance(exc, errors.ImgregError) else "an internal error"
    if isinstance(exc, errors.ImgregError):
        LOG.warning("location import of image %s failed: %s", job.image_id, message)
    else:
        LOG.exception("location import of image %s failed", job.image_id)
    # the image first, then the task (Glance reverts before it fails the task): a client that
    # sees the task failed finds the image queued again; a worker dying in between leaves the
    # task to the reaper (imgreg.maintenance.stuck_tasks)
    task = job.task
    try:
        _release(job.svc, job.image_id, task.id, job.url)
    except Exception:
        LOG.exception("image %s not put back to queued", job.image_id)
    with contextlib.suppress(errors.ImgregError):
        before = task.status
        task.fail(f"Adding the location to image {job.image_id} failed: {message}")
        task.ended(task_ttl(job.svc))
        _save_task(job, before)


def _read_only_location(svc: Services, image: Image, url: str) -> dict[str, Any] | None:
    """The metadata of ``url`` if it stays with the image (a read-only store's), else None."""
    try:
        read_only = svc.store.read_only(svc.store.resolve(url)[0])
    except errors.NotFound:
        return None
    return dict(image.metadata_of(url)) if read_only else None


def _release(svc: Services, image_id: str, task_id: str, url: str) -> None:
    """Back to queued without the location, if the image is still locked by this task; the
    data is deleted first, while the lock keeps another call from adding it anew. A location
    in a read-only (http) store has no data of ours to delete and stays, as in Glance (its bug
    2076648, which tempest's LocationImportTest expects: the queued image keeps ``stores``)."""
    records = _records(svc)
    try:
        image: Image = records.get(image_id)
    except errors.NotFound:
        return
    if image.status != "importing" or image.extra_properties.get(IMPORT_TASK) != task_id:
        return
    kept = _read_only_location(svc, image, url)
    try:
        svc.store.delete(url)
    except errors.ImgregError as exc:
        LOG.warning("image %s: data of the failed location not deleted: %s", image_id, exc)
    image.abort_upload()  # queued, no location, no size or hashes
    if kept is not None:
        image.add_location(url, kept)
    image.extra_properties.pop(IMPORT_TASK, None)
    try:
        records.save(image, from_state="importing")
    except errors.ImgregError as exc:  # the reaper took it back, or it was deleted
        LOG.info("image %s not put back to queued: %s", image_id, exc.message)
        return
    svc.notifier.info("image.update", image_payload(image))


def _save_task(job: LocationJob, before: str) -> None:
    try:
        job.tasks.save(job.task, from_status=before)
    except errors.ImgregError as exc:
        LOG.info("task %s not saved: %s", job.task.id, exc.message)
    except Exception:
        LOG.exception("task %s could not be saved", job.task.id)
