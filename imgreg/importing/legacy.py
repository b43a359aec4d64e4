"""The legacy ``import`` task of ``POST /v2/tasks``: what runs once the task is recorded.

Not there yet: the task fails at once with a message saying so (through the internal task
chain, so that ``task.failure`` is sent and the task expires as any other).
"""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain.task import Task
from imgreg.layers import build_internal_task_repo
from imgreg.services import Services


def start(svc: Services, ctx: RequestContext, task: Task) -> None:
    """Run (or hand off) the import ``task``, which is ``pending`` and recorded."""
    task.fail("The legacy import task is not available yet.")
    build_internal_task_repo(ctx, svc).save(task, from_status="pending")
