"""``TaskRepoLayer``: explicit pass-through to the inner task repository."""

from __future__ import annotations

import builtins

from imgreg.context import RequestContext
from imgreg.domain.ports import TaskRepo
from imgreg.domain.task import Task
from imgreg.domain.task_query import TaskQuery


class TaskRepoLayer:
    """Pass each call to the inner task repo; subclasses override only what they guard."""

    def __init__(self, inner: TaskRepo, ctx: RequestContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def get(self, task_id: str) -> Task:
        return self.inner.get(task_id)

    def list(self, query: TaskQuery) -> builtins.list[Task]:
        return self.inner.list(query)

    def list_for_image(self, image_id: str) -> builtins.list[Task]:
        return self.inner.list_for_image(image_id)

    def add(self, task: Task) -> Task:
        return self.inner.add(task)

    def save(self, task: Task, from_status: str | None = None) -> Task:
        return self.inner.save(task, from_status=from_status)
