"""``PUT /v2/images/{id}/stage`` and ``POST /v2/images/{id}/import`` (API 2.6).

Staging is an upload that stops short of ``active``: the image goes queued → uploading and
the data goes, through the same session as ``PUT /file`` (hashing, inspection, quota, lease,
crash safety), into the configured store under the image's own name. So any node that shares
the store can import it: there is no node-local staging directory (Glance's
``node_staging_uri``) and no need to proxy the import to the node that staged. A failed stage
leaves the image ``queued`` and nothing stored.

The import checks the request (Glance's validation order and messages), records an
``api_image_import`` task, moves the image to ``importing`` under the upload lease (one import
at a time: a second one loses the compare-and-swap, 409) and answers 202; the data moves in
the background (``imgreg.importing.flow``).

glance-download's own fields are checked after the image's state, as Glance does; where the
other region's image service is (the caller's service catalog) is only looked up by the import,
so a region the catalog lacks fails the task, not the request (Glance's behaviour too).
"""

from __future__ import annotations

import uuid
from typing import Any

import webob

from imgreg.api import body as request_body
from imgreg.api.image_data import receive
from imgreg.api.text import check_text
from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import Image
from imgreg.domain.ports import UploadTerms
from imgreg.domain.task import Task
from imgreg.importing import copy, flow, web
from imgreg.importing.targets import import_targets
from imgreg.layers import build_image_repo, build_internal_task_repo
from imgreg.layers.policy import image_target
from imgreg.services import Services

BODY_LIMIT = 64 * 1024


def parse_import(request: webob.Request, enabled: list[str]) -> dict[str, Any]:
    """The import request, checked in Glance's order (400 on each)."""
    body = request_body.parse_json(request_body.read_body(request, BODY_LIMIT))
    if not isinstance(body, dict):
        raise errors.Invalid("Import request body must be a JSON object.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise errors.Invalid("Import request requires a 'method' field.")
    name = method.get("name")
    if not isinstance(name, str) or not name:
        raise errors.Invalid("Import request requires a 'name' field.")
    check_text(name)  # the refusal below quotes it, and every error body must encode
    if name not in enabled:
        raise errors.Invalid(f"Unknown import method name '{name[:64]}'.")
    for flag in ("all_stores", "all_stores_must_succeed"):
        if flag in body and not isinstance(body[flag], bool):
            raise errors.Invalid(f"'{flag}' must be a boolean value.")
    stores = body.get("stores")
    if stores is not None and (
        not isinstance(stores, list) or not all(isinstance(s, str) for s in stores)
    ):
        raise errors.Invalid("'stores' must be a list of store names.")
    check_text(stores)  # a refusal quotes them
    if name == "web-download":
        uri = method.get("uri")
        if not isinstance(uri, str) or not uri:
            raise errors.Invalid("URI for web-download must be given in the method's 'uri'.")
    return body


def check_glance_download(method: dict[str, Any]) -> None:
    """The other region's image a glance-download names (Glance's messages, 400 each)."""
    region = method.get("glance_region")
    if not isinstance(region, str) or not region:
        raise errors.Invalid("'glance_region' needs to be set for glance-download import method")
    image_id = method.get("glance_image_id")
    if image_id is None:
        raise errors.Invalid("'glance_image_id' needs to be set for glance-download import method")
    try:
        uuid.UUID(image_id)
    except (ValueError, TypeError, AttributeError):
        raise errors.Invalid(
            f"Remote image id does not look like a UUID: {str(image_id)[:64]}"
        ) from None
    interface = method.get("glance_service_interface")
    if not isinstance(interface, str) or not interface:
        raise errors.Invalid("'glance_service_interface' must be a non-empty string.")


class ImageImportController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _enabled(self) -> list[str]:
        return list(self.svc.conf.enabled_import_methods)

    def stage(self, request: webob.Request, image_id: str) -> webob.Response:
        if "glance-direct" not in self._enabled():
            raise errors.NotFound("The glance-direct import method is not enabled.")
        receive(request, self.svc, image_id, Image.begin_stage)
        return webob.Response(status=204)

    def import_image(self, request: webob.Request, image_id: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        body = parse_import(request, self._enabled())
        method = body["method"]
        name = method["name"]
        repo = build_image_repo(ctx, self.svc)
        image = repo.get(normalize_id(image_id))
        if name == "copy-image":  # Glance's order: the status, then the policy
            if image.status != "active":
                raise errors.Conflict("Only images with status active can be targeted for copying")
            self.svc.policy.enforce(ctx, "copy_image", image_target(image))
        header = request.headers.get("x-image-meta-store")
        if header is not None:
            check_text(header)
        stores = import_targets(self.svc.store, body, header, name, image)
        if name == "copy-image":
            return self._copy(ctx, image, body, stores)
        if name == "glance-download":
            method.setdefault("glance_service_interface", "public")
        uri = method.get("uri") if name == "web-download" else None
        if uri is not None:
            web.check_uri(uri, self.svc.conf)
        multiple = self.svc.store.multiple
        task = self._task(ctx, image, body, stores if multiple else [flow.store_name(self.svc)])
        image.begin_import(name, task.id, ",".join(stores) if multiple else "")
        if name == "glance-download":  # after the state checks, as in Glance
            check_glance_download(method)
        # the chain checks owner and upload_image once; the database takes the lease if the
        # image is still as loaded (a second import loses: 409)
        session = repo.begin_upload(image, UploadTerms(store=stores[0] if multiple else None))
        tasks = build_internal_task_repo(ctx, self.svc)
        try:
            tasks.add(task)
        except BaseException:
            session.abort()
            raise
        job = flow.ImportJob(self.svc, ctx, repo, tasks, task, session, name, uri)
        if multiple:
            job.stores = stores
            job.must_succeed = body.get("all_stores_must_succeed", True)
        flow.submit(job)
        return webob.Response(status=202)

    def _task(
        self, ctx: RequestContext, image: Image, body: dict[str, Any], backend: list[str]
    ) -> Task:
        return Task.new(
            "api_image_import",
            ctx.project_id,
            input={"image_id": image.id, "import_req": body, "backend": backend},
            image_id=image.id,
            request_id=ctx.request_id,
            user_id=ctx.user_id,
        )

    def _copy(
        self, ctx: RequestContext, image: Image, body: dict[str, Any], stores: list[str]
    ) -> webob.Response:
        """copy-image: the image stays active; the copies are made in the background."""
        if not stores:  # all_stores, and every store holds it: nothing to do (Glance: 202)
            return webob.Response(status=202)
        task = self._task(ctx, image, body, stores)
        lease = copy.start(self.svc, image, task, stores)
        tasks = build_internal_task_repo(ctx, self.svc)
        try:
            tasks.add(task)
        except BaseException:
            copy.abandon(self.svc, image.id, lease)
            raise
        must_succeed = body.get("all_stores_must_succeed", True)
        job = copy.CopyJob(self.svc, ctx, tasks, task, image.id, stores, must_succeed, lease)
        flow.spawn(copy.run, job)
        return webob.Response(status=202)
