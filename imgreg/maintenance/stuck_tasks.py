"""Tasks left unfinished by a worker that died after its image's part was done.

An import (and a location import, as in Glance) ends its image first and records its task's
end after: a client that sees the task ended finds the image settled. A worker killed in
between leaves the image settled (active, or queued again) and its task ``processing`` with
no lease to expire, since the image no longer holds it (``os_glance_import_task``). The reaper
fails such a task once neither it nor its image has changed for a lease, so a poller does not
wait for ever; the message says what became of the image.
"""

from __future__ import annotations

import datetime as dt
import logging

from imgreg.db.repo import SqlImageRepo
from imgreg.db.tasks import SqlTaskRepo
from imgreg.domain import errors
from imgreg.domain.image import IMPORT_TASK, Image
from imgreg.domain.task import Task, now
from imgreg.services import Services

LOG = logging.getLogger(__name__)


def fail_stuck(svc: Services) -> list[str]:
    """Fail every stuck task (see the module); the ids of those failed."""
    settled = now() - dt.timedelta(seconds=svc.conf.upload_lease_seconds)
    tasks = SqlTaskRepo(svc.db, dt.timedelta(hours=svc.conf.task.task_time_to_live))
    images = SqlImageRepo(svc.db)
    failed = []
    for task in tasks.unfinished_before(settled):
        image = _image(images, task)
        if image is not None and (
            image.extra_properties.get(IMPORT_TASK) == task.id or image.updated_at >= settled
        ):
            continue  # still held (its lease decides), or just changed: its worker may be saving
        if _fail(tasks, task, image):
            failed.append(task.id)
    return failed


def _image(images: SqlImageRepo, task: Task) -> Image | None:
    try:
        return images.get(str(task.image_id))
    except errors.NotFound:
        return None


def _fail(tasks: SqlTaskRepo, task: Task, image: Image | None) -> bool:
    after = "was deleted" if image is None else f"is {image.status}"
    before = task.status
    task.fail(
        f"Task stopped: the worker running it went away before it recorded its end. "
        f"Image {task.image_id} {after}."
    )
    try:
        tasks.save(task, from_status=before)
    except errors.ImgregError as exc:  # saved meanwhile by its worker, or expired
        LOG.info("reaper: task %s not failed: %s", task.id, exc.message)
        return False
    LOG.warning("reaper: failed task %s, left %s by a worker that went away", task.id, before)
    return True
