"""Several stores (``enabled_backends``), as Glance serves them (API 2.8 to 2.11):

* ``GET /v2/info/stores``: each store's id, description, and ``"default": "true"`` on the
  default one (404 with a single store);
* ``GET /v2/info/stores/detail``: also its ``type``, ``weight`` and the ``properties`` Glance
  shows for its type (never credentials); ``stores_info_detail`` (admin or service);
* ``DELETE /v2/stores/{store_id}/{image_id}``: remove the image's copy in one store (204),
  ``delete_image_location`` (admin); 409 for a store not configured, an image that is not
  active or is being copied, or data in use; 403 for its last copy; 404 when it has none there;
* ``X-Image-Meta-Store`` (``PUT /file``) and ``?prefer=`` (``GET /file``): ``store_header`` and
  ``preferred_stores`` parse them for ``imgreg.api.image_data``.
"""

from __future__ import annotations

from typing import Any

import webob

from imgreg.api.text import check_text
from imgreg.api.views import json_response
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.layers import build_image_repo
from imgreg.layers.copies import remove_from_store
from imgreg.layers.policy import image_target
from imgreg.services import Services
from imgreg.store.registry import StoreInfo, Stores

MiB = 1024 * 1024
FILE_CHUNK = 4 * MiB  # what the filesystem store reads and writes at a time
NOT_MULTIPLE = "Multi backend is not supported at this site."


def store_header(request: webob.Request, stores: Stores) -> str | None:
    """The store ``X-Image-Meta-Store`` names (400 if none such); None without the header or
    with a single store, where Glance ignores it."""
    name = request.headers.get("x-image-meta-store")
    if name is None or not stores.multiple:
        return None
    return known_store(stores, name, errors.Invalid)


def known_store(stores: Stores, name: str, error: type[errors.ImgregError]) -> str:
    check_text(name)
    if name not in stores.ids():
        raise error(f"Unknown scheme '{name[:64]}' found in URI")
    return name


def preferred_stores(request: webob.Request, stores: Stores) -> tuple[str, ...]:
    """The stores ``?prefer=a,b`` names, in order (400 with a single store or an unknown
    one); empty without it."""
    value = request.GET.get("prefer", "")
    check_text(value)
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    if not names:
        return ()
    if not stores.multiple:
        raise errors.Invalid(
            "Store selection for download is not available when multiple backends are not enabled."
        )
    for name in names:
        if name not in stores.ids():
            raise errors.Invalid(f"Store '{name[:64]}' is not configured.")
    return names


def _properties(info: StoreInfo, section: Any, store: Any) -> dict[str, Any]:
    """What Glance's discovery shows of each type: sizes and names, never credentials."""
    if info.kind == "file":
        return {
            "data_dir": section.filesystem_store_datadir,
            "chunk_size": FILE_CHUNK,
            "thin_provisioning": False,
        }
    if info.kind == "rbd":
        try:
            fsid: str | None = store.fsid()
        except errors.ImgregError:
            fsid = None  # the cluster does not answer: the rest is still true
        return {
            "chunk_size": section.rbd_store_chunk_size * MiB,
            "pool": section.rbd_store_pool,
            "thin_provisioning": section.rbd_thin_provisioning,
            "fsid": fsid,
        }
    if info.kind == "http":
        return {}  # nothing of its own: any URL its filter admits
    if info.kind == "swift":
        return {
            "container": section.swift_store_container,
            "large_object_size": section.swift_store_large_object_size,
            "large_object_chunk_size": section.swift_store_large_object_chunk_size,
        }
    return {
        "s3_store_large_object_size": section.s3_store_large_object_size,
        "s3_store_large_object_chunk_size": section.s3_store_large_object_chunk_size,
        "s3_store_thread_pools": section.s3_store_thread_pools,
    }


class StoresController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def _stores(self) -> list[dict[str, Any]]:
        if not self.svc.store.multiple:
            raise errors.NotFound(NOT_MULTIPLE)
        listed = []
        for info in self.svc.store.info():
            entry: dict[str, Any] = {"id": info.id}
            if info.description:
                entry["description"] = info.description
            if info.default:
                entry["default"] = "true"
            if info.read_only:
                entry["read-only"] = "true"
            listed.append(entry)
        return listed

    def info(self, request: webob.Request) -> webob.Response:
        return json_response({"stores": self._stores()})

    def detail(self, request: webob.Request) -> webob.Response:
        listed = self._stores()
        ctx = request.environ["imgreg.context"]
        self.svc.policy.enforce(ctx, "stores_info_detail", {"project_id": ctx.project_id})
        by_id = {info.id: info for info in self.svc.store.info()}
        for entry in listed:
            info = by_id[entry["id"]]
            store = self.svc.store.get(info.id)
            entry["type"] = info.kind
            entry["weight"] = info.weight
            entry["properties"] = _properties(info, self.svc.conf[info.id], store)
        return json_response({"stores": listed})

    def delete(self, request: webob.Request, store_id: str, image_id: str) -> webob.Response:
        stores = self.svc.store
        if not stores.multiple:
            raise errors.NotFound(NOT_MULTIPLE)
        check_text(store_id)
        if store_id not in stores.ids():
            raise errors.Conflict(
                f"The selected store {store_id[:64]} is not available on this node."
            )
        ctx = request.environ["imgreg.context"]
        image = build_image_repo(ctx, self.svc).get(normalize_id(image_id))
        target = image_target(image)
        self.svc.policy.enforce(ctx, "get_image_location", target)
        self.svc.policy.enforce(ctx, "delete_image_location", target)
        if not ctx.is_admin and image.owner != ctx.project_id:
            raise errors.Forbidden("You are not permitted to modify locations for this image.")
        if image.status != "active":
            raise errors.Conflict(
                "It's not allowed to remove image data from store if image status is not 'active'"
            )
        if len(image.locations) == 1:
            raise errors.Forbidden(
                "Cannot delete image data from the only store containing it. Consider "
                "deleting the image instead."
            )
        remove_from_store(self.svc.db, stores, image, store_id)
        return webob.Response(status=204)
