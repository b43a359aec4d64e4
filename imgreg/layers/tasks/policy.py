"""Policy of tasks: ``tasks_api_access`` on every call of the tasks API, then the finer rule
of the call (``get_task``, ``get_tasks``, ``add_task``), over the task's owner.

``list_for_image`` passes: ``GET /v2/images/{id}/tasks`` is guarded by the image's own rules
(the controller loads the image through the image chain first), as in Glance.
"""

from __future__ import annotations

import builtins

from imgreg.context import RequestContext
from imgreg.domain.ports import TaskRepo
from imgreg.domain.task import Task
from imgreg.domain.task_query import TaskQuery
from imgreg.layers.tasks.base import TaskRepoLayer
from imgreg.rules.policy import Policy


def enforce_api_access(ctx: RequestContext, policy: Policy) -> None:
    """``tasks_api_access`` alone, which Glance checks before it reads the request: a caller
    refused gets 403 whatever the body or query says."""
    policy.enforce(ctx, "tasks_api_access", {"project_id": ctx.project_id})


class PolicyTaskRepo(TaskRepoLayer):
    def __init__(self, inner: TaskRepo, ctx: RequestContext, policy: Policy) -> None:
        super().__init__(inner, ctx)
        self.policy = policy

    def _enforce(self, rule: str, owner: str | None) -> None:
        enforce_api_access(self.ctx, self.policy)
        self.policy.enforce(self.ctx, rule, {"project_id": owner, "owner": owner})

    def get(self, task_id: str) -> Task:
        enforce_api_access(self.ctx, self.policy)  # before a 404 could tell anything
        task = self.inner.get(task_id)
        self._enforce("get_task", task.owner)
        return task

    def list(self, query: TaskQuery) -> builtins.list[Task]:
        self._enforce("get_tasks", self.ctx.project_id)
        return self.inner.list(query)

    def add(self, task: Task) -> Task:
        self._enforce("add_task", task.owner)
        return self.inner.add(task)
