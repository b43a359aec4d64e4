"""The stores an import writes to, from its request as Glance reads it (``stores``,
``all_stores``, the ``X-Image-Meta-Store`` header, else the default store), checked against the
configured ones; for copy-image, the stores that do not hold the image yet.

With a single store, ``stores`` and ``all_stores_must_succeed: false`` are refused (there is
nothing to choose) and copy-image has nowhere to copy to.
"""

from __future__ import annotations

from typing import Any

from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.store.registry import Stores


def import_targets(
    stores: Stores, body: dict[str, Any], header: str | None, method: str, image: Image
) -> list[str]:
    """The target stores in order, without repeats; empty for a copy-image with
    ``all_stores`` to an image every store holds already (nothing to do, as in Glance)."""
    if not stores.multiple:
        return _single(stores, body, method)
    if body.get("all_stores", False):
        if "stores" in body or header is not None:
            raise errors.Invalid(
                "All_stores parameter can't be used with x-image-meta-store header or stores "
                "parameter"
            )
        # every store that takes data: a read-only (http) store is not one, as in Glance
        targets = [name for name in stores.ids() if not stores.read_only(name)]
    elif "stores" in body:
        if header is not None:
            raise errors.Invalid(
                "Stores parameter and x-image-meta-store header can't be both specified"
            )
        targets = list(dict.fromkeys(body["stores"]))
        if not targets:
            raise errors.Invalid("'stores' must name at least one store.")
    else:
        targets = [header if header is not None else stores.default_id]
    for name in targets:
        if name not in stores.ids():  # Glance: glance_store's UnknownScheme, as a 409
            raise errors.Conflict(f"Unknown scheme '{name[:64]}' found in URI")
        if stores.read_only(name):
            raise errors.Invalid(f"Store '{name}' is read-only: no data can be imported to it")
    if method != "copy-image":
        return targets
    present = [image.store_of(url) for url in image.locations]
    if body.get("all_stores", False):
        return [name for name in targets if name not in present]
    for name in targets:
        if name in present:
            raise errors.Invalid(f"Image is already present at store '{name}'")
    return targets


def _single(stores: Stores, body: dict[str, Any], method: str) -> list[str]:
    if body.get("all_stores_must_succeed") is False or body.get("stores"):
        raise errors.Invalid(
            "This site has one store; 'stores' and 'all_stores_must_succeed' need several "
            "(enabled_backends)."
        )
    if method == "copy-image":
        raise errors.Invalid(
            "copy-image copies an image to other stores; this site has one store, which "
            "holds the image already."
        )
    return [stores.default_id]
