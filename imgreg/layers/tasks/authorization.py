"""Authorization of tasks: an administrator sees and changes every task, anyone else only
the tasks of their own project (a caller without a project, none; a task without owner is
nobody's)."""

from __future__ import annotations

import builtins
import dataclasses

from imgreg.domain import errors
from imgreg.domain.task import Task
from imgreg.domain.task_query import TaskQuery
from imgreg.layers.tasks.base import TaskRepoLayer


class AuthorizationTaskRepo(TaskRepoLayer):
    def _may_see(self, task: Task) -> bool:
        return self.ctx.is_admin or self.ctx.is_project(task.owner)

    def get(self, task_id: str) -> Task:
        task = self.inner.get(task_id)
        if not self._may_see(task):
            # as if it did not exist: the id of another project's task tells nothing
            raise errors.NotFound(f"Task with the given ID {task_id} could not be found")
        return task

    def list(self, query: TaskQuery) -> builtins.list[Task]:
        if self.ctx.is_admin:
            return self.inner.list(query)
        if not self.ctx.project_id:
            return []
        return self.inner.list(dataclasses.replace(query, owner=self.ctx.project_id))

    def list_for_image(self, image_id: str) -> builtins.list[Task]:
        return [t for t in self.inner.list_for_image(image_id) if self._may_see(t)]

    def add(self, task: Task) -> Task:
        if not self._may_see(task):
            raise errors.Forbidden(
                f"You are not permitted to create this task with owner as {task.owner}"
            )
        return self.inner.add(task)

    def save(self, task: Task, from_status: str | None = None) -> Task:
        if not self._may_see(task):
            raise errors.Forbidden("You are not permitted to modify this task.")
        return self.inner.save(task, from_status=from_status)
