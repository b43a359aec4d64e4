"""The v2 route table: one ``route()`` line per path, nothing else.

Each path lists its methods; any other method gets 405 with ``Allow`` (Glance's catch-all),
and a path that matches nothing gets 404.
"""

from __future__ import annotations

from typing import Any

import routes
import routes.middleware
import webob
import webob.dec

from imgreg.api import errors as api_errors
from imgreg.api.cache import CacheController
from imgreg.api.discovery import DiscoveryController
from imgreg.api.image_actions import ImageActionsController
from imgreg.api.image_data import ImageDataController
from imgreg.api.image_import import ImageImportController
from imgreg.api.images import ImagesController
from imgreg.api.locations import LocationsController
from imgreg.api.members import ImageMembersController
from imgreg.api.metadefs.routes import add_metadef_routes
from imgreg.api.resource import Resource
from imgreg.api.resumable import ResumableUploadController, is_resumable
from imgreg.api.schemas import SchemasController
from imgreg.api.stores import StoresController
from imgreg.api.tasks import ImageTasksController, TasksController
from imgreg.services import Services


@webob.dec.wsgify
def method_not_allowed(request: webob.Request) -> webob.Response:
    allowed = request.urlvars["allowed"]
    return api_errors.error_response(
        request,
        405,
        "The method specified is not allowed for this resource.",
        {"Allow": allowed},
    )


@webob.dec.wsgify
def not_found(request: webob.Request) -> webob.Response:
    return api_errors.error_response(request, 404, "The resource could not be found.")


class Mapper(routes.Mapper):
    """routes' mapper without its "master regexp": before it tries the routes whose prefix
    fits the path, routes runs one alternation of every route's regexp over the path, only
    to turn invalid paths away sooner, and that costs more than the matching itself (25-45
    us of a request, measured). routes skips the check when the attribute is None (as it
    leaves it when there are too many routes to join); the routes tried, and so every match
    and every 404, are the same."""

    def create_regs(self, *args: Any, **kwargs: Any) -> None:
        super().create_regs(*args, **kwargs)
        self._master_regexp = None


def _dispatch(environ: dict[str, Any], start_response: Any) -> Any:
    """Plain WSGI: the matched controller builds the one WebOb request the call needs."""
    match = environ["wsgiorg.routing_args"][1]
    if not match:
        return not_found(environ, start_response)
    return match["controller"](environ, start_response)


class Router:
    def __init__(self, svc: Services) -> None:
        self.mapper = Mapper()
        schemas = Resource(
            SchemasController(svc),
            no_body=frozenset({"image", "images", "member", "members", "task", "tasks"}),
        )
        info = Resource(DiscoveryController(svc), no_body=frozenset({"import_methods", "usage"}))
        stores = Resource(StoresController(svc), no_body=frozenset({"info", "detail", "delete"}))
        images = Resource(ImagesController(svc), no_body=frozenset({"show", "delete"}))
        data = Resource(ImageDataController(svc), no_body=frozenset({"download"}))
        actions = Resource(
            ImageActionsController(svc),
            no_body=frozenset({"add_tag", "delete_tag", "deactivate", "reactivate"}),
        )
        members = Resource(
            ImageMembersController(svc), no_body=frozenset({"index", "show", "delete"})
        )
        imports = Resource(ImageImportController(svc))
        tasks = Resource(TasksController(svc), no_body=frozenset({"index", "show"}))
        image_tasks = Resource(ImageTasksController(svc), no_body=frozenset({"index"}))
        locations = Resource(LocationsController(svc), no_body=frozenset({"index"}))

        self.route("/v2/schemas/image", schemas, GET="image")
        self.route("/v2/schemas/images", schemas, GET="images")
        self.route("/v2/schemas/member", schemas, GET="member")
        self.route("/v2/schemas/members", schemas, GET="members")
        self.route("/v2/schemas/task", schemas, GET="task")
        self.route("/v2/schemas/tasks", schemas, GET="tasks")
        self.route("/v2/info/import", info, GET="import_methods")
        self.route("/v2/info/stores", stores, GET="info")
        self.route("/v2/info/stores/detail", stores, GET="detail")
        self.route("/v2/stores/{store_id}/{image_id}", stores, DELETE="delete")
        self.route("/v2/info/usage", info, GET="usage")
        self.route("/v2/images", images, GET="index", POST="create")
        self.route(
            "/v2/images/{image_id}",
            images,
            GET="show",
            PATCH="update",
            DELETE="delete",
            HEAD="show",
        )
        if svc.conf.resumable_upload_dir:
            self._resumable(svc)
        self.route(
            "/v2/images/{image_id}/file", data, GET="download", PUT="upload", HEAD="download"
        )
        self.route("/v2/images/{image_id}/stage", imports, PUT="stage")
        self.route("/v2/images/{image_id}/import", imports, POST="import_image")
        self.route("/v2/images/{image_id}/tags/{tag}", actions, PUT="add_tag", DELETE="delete_tag")
        self.route("/v2/images/{image_id}/actions/deactivate", actions, POST="deactivate")
        self.route("/v2/images/{image_id}/actions/reactivate", actions, POST="reactivate")
        self.route("/v2/images/{image_id}/members", members, GET="index", POST="create")
        self.route(
            "/v2/images/{image_id}/members/{member_id}",
            members,
            GET="show",
            PUT="update",
            DELETE="delete",
        )
        self.route("/v2/images/{image_id}/tasks", image_tasks, GET="index")
        self.route("/v2/images/{image_id}/locations", locations, GET="index", POST="add")
        self.route("/v2/tasks", tasks, GET="index", POST="create")
        self.route("/v2/tasks/{task_id}", tasks, GET="show", DELETE="delete")
        add_metadef_routes(self, svc)
        if svc.cache is not None:  # [DEFAULT] image_cache_dir: else /v2/cache is 404
            cache = Resource(
                CacheController(svc, svc.cache),
                no_body=frozenset({"index", "queue", "delete", "clear", "clean", "prune", "nodes"}),
            )
            self.route("/v2/cache", cache, GET="index", DELETE="clear")
            self.route("/v2/cache/clean", cache, POST="clean")
            self.route("/v2/cache/prune", cache, POST="prune")
            self.route("/v2/cache/nodes/{image_id}", cache, GET="nodes")
            self.route("/v2/cache/{image_id}", cache, PUT="queue", DELETE="delete")

        # No method override: Routes would otherwise take the method from ``?_method=`` or a
        # form field (a GET that deletes), and parse any form body to look for it. No
        # singleton: that keeps each match in a thread-local "request config" nothing here reads.
        self.app = routes.middleware.RoutesMiddleware(
            _dispatch, self.mapper, use_method_override=False, singleton=False
        )

    def _resumable(self, svc: Services) -> None:
        """tus and the IETF draft (``imgreg.api.resumable``): POST and OPTIONS on /file and
        /stage only with ``Tus-Resumable`` or ``Upload-Complete``, so that everyone else still
        gets Glance's 405 there."""
        tus = Resource(
            ResumableUploadController(svc),
            no_body=frozenset({"options", "status", "terminate"}),
        )
        for target in ("file", "stage"):
            for method, action in (("POST", "create"), ("OPTIONS", "options")):
                self.mapper.connect(
                    f"/v2/images/{{image_id}}/{target}",
                    controller=tus,
                    action=action,
                    target=target,
                    conditions={"method": [method], "function": is_resumable},
                )
        self.route(
            "/v2/images/{image_id}/{target:file|stage}/uploads/{session_id}",
            tus,
            HEAD="status",
            PATCH="patch",
            DELETE="terminate",
        )

    def route(self, path: str, resource: Resource, **actions: str) -> None:
        for method, action in actions.items():
            self.mapper.connect(
                path, controller=resource, action=action, conditions={"method": [method]}
            )
        self.mapper.connect(path, controller=method_not_allowed, allowed=", ".join(actions))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)
