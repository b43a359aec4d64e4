"""glance-download: an image of another region's image service (Glance or imgreg), fetched as
the caller.

The other region's endpoint is the caller's service catalog's ``image`` entry for the
requested region and interface (as Glance's ``get_glance_endpoint``; no such entry fails the
import, not the request, as in Glance). From there, with the caller's token:

1. ``GET {endpoint}/v2/images/{id}``: the image must be ``active`` and say its size; its
   ``disk_format`` and ``container_format`` and the properties whose names start with one of
   ``[glance_download_properties] extra_properties`` go onto the local image (saved only if
   the import succeeds);
2. ``GET {endpoint}/v2/images/{id}/file``: the data, streamed into the upload session as a
   web-download's, and refused if its size is not the one the image said.

Both requests go through ``imgreg.importing.web``, so the endpoint must pass
``[import_filtering_opts]`` like a web-download URI (Glance applies one validator to both
since OSSA-2026-004), and the token goes to the endpoint's own origin only, never along a
redirect to another one.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.factory import READ_ONLY, RESERVED, RESERVED_PREFIX
from imgreg.domain.image import DATA_FIELDS, MUTABLE_FIELDS, Image
from imgreg.importing import web

REFUSED = "Processed URI for glance-download does not pass filtering: "
METADATA_LIMIT = 1024 * 1024  # an image's JSON is a few KiB; more is not an image
# the image's own attributes: never copied as properties, whatever the prefixes
_ATTRIBUTES = frozenset(
    {*MUTABLE_FIELDS, *DATA_FIELDS, *READ_ONLY, *RESERVED, "id", "tags", "owner"}
)


@dataclasses.dataclass(frozen=True)
class Remote:
    """Where the other region's image is, and the token to ask for it with."""

    endpoint: str  # without a trailing slash
    image_id: str  # canonical form
    token: str | None

    @property
    def image_url(self) -> str:
        return f"{self.endpoint}/v2/images/{self.image_id}"

    def open(self, url: str, conf: cfg.ConfigOpts) -> web.WebSource:
        headers = {"X-Auth-Token": self.token} if self.token else {}
        return web.open_uri(url, conf, headers=headers, refused=REFUSED)


def remote(ctx: RequestContext, method: dict[str, Any]) -> Remote:
    """The remote image a glance-download request (already checked) names."""
    region = method["glance_region"]
    interface = method.get("glance_service_interface") or "public"
    url = find_endpoint(ctx.service_catalog, region, interface)
    if url is None:
        raise errors.NotFound(f"{interface} glance endpoint not found for region {region}")
    image_id = str(uuid.UUID(method["glance_image_id"]))
    return Remote(url.rstrip("/"), image_id, ctx.auth_token)


def find_endpoint(catalog: Iterable[Any], region: str, interface: str) -> str | None:
    """The URL of the first ``image`` service endpoint in ``region`` (compared without case)
    for ``interface``. Reads keystonemiddleware's catalog (``publicURL``, ``internalURL``,
    ``adminURL`` per endpoint) and, as well, Keystone v3's (``interface`` and ``url``)."""
    for service in catalog:
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        endpoints = service.get("endpoints")
        for endpoint in endpoints if isinstance(endpoints, list) else []:
            if not isinstance(endpoint, dict):
                continue
            where = endpoint.get("region") or endpoint.get("region_id")
            if not isinstance(where, str) or where.lower() != region.lower():
                continue
            url = endpoint.get(f"{interface}URL")
            if url is None and endpoint.get("interface") == interface:
                url = endpoint.get("url")
            if isinstance(url, str) and url:
                return url
    return None


def import_metadata(source: Remote, image: Image, conf: cfg.ConfigOpts) -> int:
    """Read the remote image; set its formats and the allowed properties on ``image`` (in
    memory: the session saves them with the data); its size, the data's expected size."""
    with source.open(source.image_url, conf) as response:
        body = response.read(METADATA_LIMIT + 1)
    if len(body) > METADATA_LIMIT:
        raise errors.Invalid(f"Remote image {source.image_id} is not an image (too large)")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise errors.Invalid(f"Remote image {source.image_id} is not an image (no JSON object)")
    status = data.get("status")
    if status != "active":
        raise errors.Invalid(f"Source image status should be active instead of {status}")
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise errors.Invalid(
            f"Size attribute of remote image {source.image_id} could not be determined."
        )
    formats = conf.image_format
    for name, allowed in (
        ("disk_format", formats.disk_formats),
        ("container_format", formats.container_formats),
    ):
        value = data.get(name)
        if not isinstance(value, str) or value not in allowed:
            raise errors.Invalid(f"Remote image's {name} {value!r} is not accepted here")
        setattr(image, name, value)
    image.extra_properties.update(
        copied_properties(data, conf.glance_download_properties.extra_properties)
    )
    return size


def copied_properties(data: dict[str, Any], prefixes: list[str]) -> dict[str, str]:
    """The remote image's properties (string values, not its attributes, not reserved)
    whose names start with one of ``prefixes``."""
    return {
        name: value
        for name, value in data.items()
        if isinstance(value, str)
        and name not in _ATTRIBUTES
        and not name.startswith(RESERVED_PREFIX)
        and any(name.startswith(prefix) for prefix in prefixes if prefix)
    }


def open_data(source: Remote, conf: cfg.ConfigOpts, size: int) -> web.WebSource:
    """The remote image's data; refused if the response says another size than ``size``."""
    data = source.open(f"{source.image_url}/file", conf)
    if data.size is not None and data.size != size:
        data.close()
        raise wrong_size(data.size, size)
    return data


def wrong_size(got: int, expected: int) -> errors.Invalid:
    return errors.Invalid(f"Downloaded data size {got} is different from expected {expected}")
