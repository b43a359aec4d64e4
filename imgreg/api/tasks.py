"""``/v2/tasks`` (Glance's legacy, admin-only tasks API) and ``/v2/images/{id}/tasks``.

Every ``/v2/tasks`` call first checks ``tasks_api_access``, before it reads the request, as
Glance does: a caller refused gets 403 whatever the body or query holds. Only ``import`` tasks
can be created here (``api_image_import`` and ``location_import`` tasks are the image import's
and the location API's own records, which Glance's schema names but which nothing outside
those flows may start); the task is answered as it was added (``pending``), whatever the
import then does with it. Tasks cannot be deleted: they expire.

``/v2/images/{id}/tasks`` (API 2.12) needs only that the caller may see the image, and answers
with Glance's raw task rows (every column, times to the microsecond without ``Z``).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

import webob

from imgreg.api import errors as api_errors
from imgreg.api import list_params
from imgreg.api.images import parse_json
from imgreg.api.text import check_text
from imgreg.api.views import json_response
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import isotime
from imgreg.domain.task import STATUSES, Task
from imgreg.domain.task_query import SORT_KEYS, TaskQuery
from imgreg.domain.task_schemas import validate_task_body
from imgreg.importing import legacy
from imgreg.layers import build_image_repo, build_task_repo
from imgreg.layers.tasks.policy import enforce_api_access
from imgreg.services import Services

IMPORT_INPUT_KEYS = ("import_from", "import_from_format", "image_properties")
LIST_TYPES = ("import",)  # what Glance's list filter accepts
NOT_DELETABLE = (
    "This operation is currently not permitted on Glance Tasks. They are auto deleted after "
    "reaching the time based on their expires_at property."
)


def task_view(task: Task) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": task.id,
        "input": task.input,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "message": task.message,
        "result": task.result,
        "created_at": isotime(task.created_at),
        "updated_at": isotime(task.updated_at),
        "self": f"/v2/tasks/{task.id}",
        "schema": "/v2/schemas/task",
    }
    # as Glance: these only when set
    for key in ("image_id", "request_id", "user_id"):
        if getattr(task, key):
            view[key] = getattr(task, key)
    if task.expires_at:
        view["expires_at"] = isotime(task.expires_at)
    return view


def task_stub_view(task: Task) -> dict[str, Any]:
    view = {k: v for k, v in task_view(task).items() if k not in ("input", "result", "message")}
    for key in ("image_id", "request_id", "user_id"):
        view.pop(key, None)
    return view


def _raw_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def task_row_view(task: Task) -> dict[str, Any]:
    """A task as ``/v2/images/{id}/tasks`` shows it: Glance's database row, as it is."""
    return {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "expires_at": _raw_time(task.expires_at),
        "created_at": _raw_time(task.created_at),
        "updated_at": _raw_time(task.updated_at),
        "deleted_at": None,
        "deleted": False,
        "image_id": task.image_id,
        "request_id": task.request_id,
        "user_id": task.user_id,
        "input": task.input,
        "result": task.result,
        "message": task.message,
    }


def check_import_from(uri: str) -> None:
    """Glance's check of a legacy import's source: http(s) only, and never a local file."""
    if not uri:
        raise errors.Invalid(f"Invalid location: {uri}")
    if uri.startswith(("http://", "https://")):
        return
    if uri.startswith(("file:///", "filesystem:///")):
        raise errors.Invalid(
            "File based imports are not allowed. Please use a non-local source of image data."
        )
    raise errors.Invalid(
        "The given uri is not valid. Please specify a valid uri from the following list of "
        "supported uri ['http']"
    )


def parse_import_input(task_input: Any) -> dict[str, Any]:
    if not isinstance(task_input, dict):
        raise errors.Invalid("Input to import task must be an object.")
    for key in IMPORT_INPUT_KEYS:
        if key not in task_input:
            raise errors.Invalid(f"Input does not contain '{key}' field")
    for key in ("import_from", "import_from_format"):
        if not isinstance(task_input[key], str):
            raise errors.Invalid(f"Input field '{key}' must be a string.")
    if not isinstance(task_input["image_properties"], dict):
        raise errors.Invalid("Input field 'image_properties' must be an object.")
    image_id = task_input.get("image_id")
    if image_id is not None:
        try:
            normalize_id(image_id)
        except errors.NotFound:
            raise errors.Invalid("Input field 'image_id' must be an image id.") from None
    check_import_from(task_input["import_from"])
    return task_input


def parse_create(request: webob.Request, svc: Services) -> dict[str, Any]:
    """The task's ``input``, checked as Glance checks it (and its import's fields up front,
    where Glance lets the task fail later)."""
    body = parse_json(request, svc)
    if body is None:
        raise errors.Invalid("Body expected in request.")
    if not isinstance(body, dict):
        raise errors.Invalid("Unexpected body type. Expected a JSON object.")
    for key in ("type", "input"):
        if key not in body:
            raise errors.Invalid(f"Task '{key}' is required")
    check_text(body)
    validate_task_body(body)
    if body["type"] != "import":
        raise errors.Invalid(f"Invalid type value: {body['type']}")
    return parse_import_input(body["input"])


def parse_list(request: webob.Request, svc: Services) -> TaskQuery:
    params = request.GET
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise errors.Invalid(f"Invalid sort direction: {sort_dir[:64]}")
    sort_key = params.get("sort_key", "created_at")
    if sort_key not in SORT_KEYS:
        raise errors.Invalid(
            f"Invalid sort key: {sort_key[:64]}. It must be one of: {', '.join(SORT_KEYS)}."
        )
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise errors.Invalid(f"Invalid status value: {status[:64]}")
    task_type = params.get("type") or None
    if task_type is not None and task_type not in LIST_TYPES:
        raise errors.Invalid(f"Invalid type value: {task_type[:64]}")
    marker = params.get("marker")
    if marker is not None:
        try:
            marker = normalize_id(marker)
        except errors.NotFound:
            raise errors.Invalid("Invalid marker format") from None
    limit = list_params.parse_limit(
        params.get("limit"), svc.conf.limit_param_default, svc.conf.api_limit_max
    )
    return TaskQuery(
        owner=None,  # authorization narrows it for anyone but an administrator
        limit=limit,
        marker=marker,
        status=status,
        type=task_type,
        sort_key=sort_key,
        sort_dir=sort_dir,
    )


def _page_link(params: dict[str, str], marker: str | None = None) -> str:
    """Glance's ``first`` and ``next``: the request's parameters, with this marker or none."""
    params = {k: v for k, v in params.items() if k != "marker"}
    if marker is not None:
        params["marker"] = marker
    return "/v2/tasks" + (f"?{urllib.parse.urlencode(params)}" if params else "")


class TasksController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _ctx(self, request: webob.Request) -> RequestContext:
        ctx: RequestContext = request.environ["imgreg.context"]
        enforce_api_access(ctx, self.svc.policy)
        return ctx

    def create(self, request: webob.Request) -> webob.Response:
        ctx = self._ctx(request)
        task_input = parse_create(request, self.svc)
        legacy.check(self.svc, task_input)  # web-download's filtering, before anything is kept
        image_id = task_input.get("image_id")
        task = Task.new(
            "import",
            ctx.project_id,
            input=task_input,
            image_id=normalize_id(image_id) if image_id else None,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
        )
        task = build_task_repo(ctx, self.svc).add(task)
        view = task_view(task)  # as added: what the import does next is not this answer's
        legacy.start(self.svc, ctx, task)
        response = json_response(view, status=201)
        base = self.svc.conf.public_endpoint or request.host_url
        response.headers["Location"] = f"{base.rstrip('/')}/v2/tasks/{task.id}"
        return response

    def index(self, request: webob.Request) -> webob.Response:
        ctx = self._ctx(request)
        query = parse_list(request, self.svc)
        tasks = build_task_repo(ctx, self.svc).list(query) if query.limit else []
        params = dict(request.GET.items())
        body: dict[str, Any] = {
            "tasks": [task_stub_view(t) for t in tasks],
            "first": _page_link(params),
            "schema": "/v2/schemas/tasks",
        }
        if query.limit and len(tasks) == query.limit:
            body["next"] = _page_link(params, marker=tasks[-1].id)
        return json_response(body)

    def show(self, request: webob.Request, task_id: str) -> webob.Response:
        ctx = self._ctx(request)
        return json_response(task_view(build_task_repo(ctx, self.svc).get(task_id)))

    def delete(self, request: webob.Request, task_id: str) -> webob.Response:
        self._ctx(request)
        return api_errors.error_response(request, 405, NOT_DELETABLE, {"Allow": "GET"})


class ImageTasksController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def index(self, request: webob.Request, image_id: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        try:
            image = build_image_repo(ctx, self.svc).get(normalize_id(image_id))
        except errors.Forbidden:
            raise errors.NotFound(f"No image found with ID {image_id[:64]}") from None
        tasks = build_task_repo(ctx, self.svc).list_for_image(image.id)
        return json_response({"tasks": [task_row_view(t) for t in tasks]})
