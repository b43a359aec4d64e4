"""How an ``Image`` looks on the wire (Glance's representation)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import webob

from imgreg.domain.image import Image, isotime

# Statuses whose data (if any) is staged, not the image's yet: as in Glance, only its size
# shows; the hashes are the image's once the import made it active.
STAGED = frozenset({"uploading", "importing"})


@dataclasses.dataclass(frozen=True)
class Display:
    """What of an image's data locations a caller sees: ``direct_url``
    (``show_image_direct_url``), ``locations`` (``show_multiple_locations``), ``stores``
    (several stores configured), and whether the caller is an admin (a deactivated image's
    locations are shown to admins only, as in Glance)."""

    direct_url: bool = False
    locations: bool = False
    stores: bool = False
    admin: bool = False


def location_list(image: Image) -> list[dict[str, Any]]:
    return [{"url": url, "metadata": image.metadata_of(url)} for url in image.locations]


def _add_locations(view: dict[str, Any], image: Image, display: Display) -> None:
    hidden = image.status in STAGED or (image.status == "deactivated" and not display.admin)
    urls = [] if hidden else image.locations
    if display.locations:
        view["locations"] = [] if hidden else location_list(image)
    if display.direct_url and urls:
        view["direct_url"] = urls[0]
    if display.stores:
        stores = [s for s in map(image.store_of, urls) if s]
        if stores:
            view["stores"] = ",".join(stores)


def image_view(image: Image, display: Display | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {k: ("" if v is None else v) for k, v in image.extra_properties.items()}
    staged = image.status in STAGED
    view.update(
        id=image.id,
        name=image.name,
        status=image.status,
        visibility=image.visibility,
        protected=image.protected,
        os_hidden=image.os_hidden,
        checksum=None if staged else image.checksum,
        os_hash_algo=None if staged else image.os_hash_algo,
        os_hash_value=None if staged else image.os_hash_value,
        owner=image.owner,
        size=image.size,
        virtual_size=None if staged else image.virtual_size,
        container_format=image.container_format,
        disk_format=image.disk_format,
        min_disk=image.min_disk,
        min_ram=image.min_ram,
        tags=sorted(image.tags),
        created_at=isotime(image.created_at),
        updated_at=isotime(image.updated_at),
        self=f"/v2/images/{image.id}",
        file=f"/v2/images/{image.id}/file",
        schema="/v2/schemas/image",
    )
    if display is not None:
        _add_locations(view, image, display)
    return view


def json_response(body: Any, status: int = 200) -> webob.Response:
    return webob.Response(
        status=status,
        body=json.dumps(body).encode("utf-8"),
        content_type="application/json",
        charset=None,
    )
