"""How an ``Image`` looks on the wire (Glance's representation)."""

from __future__ import annotations

import json
from typing import Any

import webob

from imgreg.domain.image import Image, isotime

# Statuses whose data (if any) is staged, not the image's yet: as in Glance, only its size
# shows; the hashes are the image's once the import made it active.
STAGED = frozenset({"uploading", "importing"})


def image_view(image: Image) -> dict[str, Any]:
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
    return view


def json_response(body: Any, status: int = 200) -> webob.Response:
    return webob.Response(
        status=status,
        body=json.dumps(body).encode("utf-8"),
        content_type="application/json",
        charset=None,
    )
