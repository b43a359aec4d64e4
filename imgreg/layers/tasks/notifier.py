"""Notifications of tasks: Glance's ``task.create`` when a task is added, and
``task.processing`` / ``task.success`` / ``task.failure`` when a save moved it there.

The payload is Glance's, which leaves out ``input`` (it may hold credentials in a URL) and
sends ``result`` and ``message`` as ``None`` whatever they hold. Beyond Glance: a task that has
no expiry yet says ``null`` (Glance's formatter puts the current time there).
"""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain.image import isotime, isotime_or_none
from imgreg.domain.ports import TaskRepo
from imgreg.domain.task import Task
from imgreg.layers.tasks.base import TaskRepoLayer
from imgreg.services.messaging import Notifier


def task_payload(task: Task) -> dict[str, object]:
    return {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "result": None,
        "owner": task.owner,
        "message": None,
        "expires_at": isotime_or_none(task.expires_at),
        "created_at": isotime(task.created_at),
        "updated_at": isotime(task.updated_at),
        "deleted": False,
        "deleted_at": None,
    }


class NotifierTaskRepo(TaskRepoLayer):
    def __init__(self, inner: TaskRepo, ctx: RequestContext, notifier: Notifier) -> None:
        super().__init__(inner, ctx)
        self.notifier = notifier

    def add(self, task: Task) -> Task:
        task = self.inner.add(task)
        self.notifier.info("task.create", task_payload(task))
        return task

    def save(self, task: Task, from_status: str | None = None) -> Task:
        task = self.inner.save(task, from_status=from_status)
        if from_status is not None and task.status != from_status:
            self.notifier.info(f"task.{task.status}", task_payload(task))
        return task
