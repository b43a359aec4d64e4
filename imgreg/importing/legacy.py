"""The legacy ``import`` task (``POST /v2/tasks``, admin-only, deprecated in Glance but still
served): ``input.import_from`` is fetched as web-download would, into a new image made from
``input.image_properties``; the task's ``result`` names the image.

The URI is filtered (``imgreg.importing.web.check_uri``) before anything is made, by the same
rules as web-download: Glance's legacy path once used a weaker validator (OSSN-0105).
"""

from __future__ import annotations

from typing import Any

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.ports import UploadTerms
from imgreg.domain.task import Task
from imgreg.importing import flow, web
from imgreg.layers import build_image_factory, build_image_repo, build_internal_task_repo
from imgreg.services import Services

# what image_properties may set: the fields a client may give on create, and properties
FIELDS = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "tags",
)


def check(svc: Services, task_input: dict[str, Any]) -> None:
    """Refuse (400) what could never run, before the task is recorded."""
    uri = task_input.get("import_from")
    if not isinstance(uri, str) or not uri:
        raise errors.Invalid("Task input 'import_from' must be a URI.")
    web.check_uri(uri, svc.conf)
    props = task_input.get("image_properties")
    if not isinstance(props, dict):
        raise errors.Invalid("Task input 'image_properties' must be an object.")


def start(svc: Services, ctx: RequestContext, task: Task) -> None:
    tasks = build_internal_task_repo(ctx, svc)
    try:
        check(svc, task.input)
        props = dict(task.input["image_properties"])
        fields = {k: props.pop(k) for k in FIELDS if k in props}
        fields.setdefault("container_format", "bare")  # a disk image, unless told otherwise
        if "tags" in fields:
            fields["tags"] = set(fields["tags"])
        fields["extra_properties"] = {str(k): str(v) for k, v in props.items()}
        image = build_image_factory(ctx, svc).new_image(ctx.project_id, **fields)
        repo = build_image_repo(ctx, svc)
        image = repo.add(image)
        task.image_id = image.id
        image.begin_import("web-download", task.id)
        session = repo.begin_upload(image, UploadTerms())
    except errors.ImgregError as exc:
        task.fail(f"Import task {task.id} could not start: {exc.message}")
        task.ended(flow.task_ttl(svc))
        tasks.save(task, from_status="pending")
        return
    uri = task.input["import_from"]
    flow.submit(flow.ImportJob(svc, ctx, repo, tasks, task, session, "web-download", uri))
