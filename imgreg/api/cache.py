"""``/v2/cache``: this node's image cache (API 2.14-2.18), routed only with ``image_cache_dir``.

Every call checks its policy first (Glance's ``cache_*`` rules, administrators by default), so
a caller refused gets 403 whatever the path or headers say. Each node answers for its own cache:
behind a balancer, a call manages the cache of the node that serves it (docs/deploy.md).

* ``GET /v2/cache``: the cached copies (hits, times as seconds since the epoch, size) and the
  queued ids;
* ``PUT /v2/cache/{id}``: queue an active image for the prefetcher (202; 400 when not active;
  404 when the caller cannot see it);
* ``DELETE /v2/cache/{id}``: drop its copy and its queue entry (204, whether or not there was
  one: the copy of a deleted image can be dropped too);
* ``DELETE /v2/cache``: ``x-image-cache-clear-target`` ``cache``, ``queue``, or empty/absent
  for both (204; anything else 400);
* ``POST /v2/cache/clean`` (stalled fills, orphans) and ``POST /v2/cache/prune`` (down to
  ``image_cache_max_size``), API 2.18;
* ``GET /v2/cache/nodes/{id}``: 409, as Glance answers without its ``centralized_db`` driver.
"""

from __future__ import annotations

import uuid

import webob

from imgreg.api.views import json_response
from imgreg.cache.cache import ImageCache
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.layers import build_image_repo
from imgreg.services import Services

CLEAR_TARGETS = {"cache": (True, False), "queue": (False, True), "": (True, True)}


class CacheController:
    def __init__(self, svc: Services, cache: ImageCache) -> None:
        self.svc = svc
        self.cache = cache

    def _enforce(self, request: webob.Request, rule: str) -> None:
        ctx = request.environ["imgreg.context"]
        self.svc.policy.enforce(ctx, rule, {"project_id": ctx.project_id})

    def index(self, request: webob.Request) -> webob.Response:
        self._enforce(request, "cache_list")
        cached = [
            {
                "image_id": e.image_id,
                "hits": e.hits,
                "last_accessed": e.last_accessed,
                "last_modified": e.last_modified,
                "size": e.size,
            }
            for e in self.cache.entries()
        ]
        return json_response({"cached_images": cached, "queued_images": self.cache.queued()})

    def queue(self, request: webob.Request, image_id: str) -> webob.Response:
        self._enforce(request, "cache_image")
        repo = build_image_repo(request.environ["imgreg.context"], self.svc)
        image = repo.get(normalize_id(image_id))
        if image.status != "active":
            raise errors.Invalid(
                f"Image {image.id} is not active (status {image.status}); only active images "
                "can be cached."
            )
        self.cache.queue(image.id)
        return webob.Response(status=202)

    def delete(self, request: webob.Request, image_id: str) -> webob.Response:
        self._enforce(request, "cache_delete")
        canonical = _image_id(image_id)
        self.cache.delete(canonical)
        self.cache.unqueue(canonical)
        return webob.Response(status=204)

    def clear(self, request: webob.Request) -> webob.Response:
        self._enforce(request, "cache_delete")
        target = request.headers.get("x-image-cache-clear-target", "").strip().lower()
        if target not in CLEAR_TARGETS:
            raise errors.Invalid(
                "Invalid value for header x-image-cache-clear-target: it must be 'cache', "
                "'queue', or empty for both."
            )
        cache, queue = CLEAR_TARGETS[target]
        self.cache.clear(cache=cache, queue=queue)
        return webob.Response(status=204)

    def clean(self, request: webob.Request) -> webob.Response:
        self._enforce(request, "cache_clean")
        return json_response({"total_files_cleaned": self.cache.clean()})

    def prune(self, request: webob.Request) -> webob.Response:
        self._enforce(request, "cache_prune")
        pruned = self.cache.prune()
        return json_response(
            {"total_files_pruned": pruned.files, "total_bytes_pruned": pruned.bytes}
        )

    def nodes(self, request: webob.Request, image_id: str) -> webob.Response:
        self._enforce(request, "list_cached_nodes")
        raise errors.Conflict(
            "Listing the nodes that cache an image needs a centralized cache; each imgreg "
            "node keeps its own."
        )


def _image_id(image_id: str) -> str:
    try:
        return str(uuid.UUID(image_id))
    except (ValueError, AttributeError, TypeError):
        raise errors.NotFound(f"No image found with ID {image_id}") from None
