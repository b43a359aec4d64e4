"""PATCH ``/locations`` (Glance's legacy location API, with ``show_multiple_locations``).

``add`` at ``/locations/<n|->`` with ``{"url", "metadata", "validation_data"?}``, ``replace``
of ``/locations`` with a list, ``remove`` of ``/locations/<n>``, with Glance's rules: no empty
list (403), not the last location (403), add and replace only while ``queued`` or ``active``
(409), remove only while ``active`` (409), ``image_location_quota`` (413). A valid location
added to a queued image makes it active, with the size of the data at the URL and the hashes
its ``validation_data`` gives. Every URL is checked (``imgreg.store.location_url``): only the
image's own blob in a configured store.

All of it happens to the image in memory, like the rest of the patch, which is saved once;
the data of a removed location is deleted only after that save (``discard_removed``).
"""

from __future__ import annotations

import logging
from typing import Any

from imgreg.api.patch import Operation
from imgreg.api.text import check_text
from imgreg.context import RequestContext
from imgreg.domain import errors, location_rules
from imgreg.domain.image import Image
from imgreg.layers.policy import image_target
from imgreg.services import Services
from imgreg.store.location_url import check_location

LOG = logging.getLogger(__name__)
EDITABLE = ("queued", "active")


class LocationEditor:
    def __init__(self, svc: Services, ctx: RequestContext) -> None:
        self.svc = svc
        self.ctx = ctx
        self.removed: list[str] = []

    def _enforce(self, image: Image, *rules: str) -> None:
        for rule in rules:
            self.svc.policy.enforce(self.ctx, rule, image_target(image))

    def apply(self, image: Image, op: Operation) -> None:
        check_text(op.value)
        if op.op == "replace":
            if not op.value:
                raise errors.Forbidden("Cannot set locations to empty list.")
            self._enforce(image, "get_image_location", "set_image_location")
            self._replace(image, op.value)
        elif op.op == "add":
            self._enforce(image, "set_image_location")
            self._add(image, op.position, op.value)
        else:
            self._enforce(image, "get_image_location", "delete_image_location")
            self._remove(image, op.position)

    # -- the three operations -----------------------------------------------------------------
    def _add(self, image: Image, segment: str | None, value: Any) -> None:
        if image.status not in EDITABLE:
            raise errors.Conflict(
                f"It's not allowed to add locations if image status is {image.status}."
            )
        new = location_rules.parse_location(value)
        seeds = location_rules.seed_values(image, [new], self.svc.conf.hashing_algorithm)
        pos = location_rules.position(segment, len(image.locations), adding=True)
        if new.url in image.locations:
            raise errors.Invalid(f"The location {new.url} already exists")
        checked = check_location(self.svc.store, image.id, new.url, new.metadata)
        image.locations.insert(pos, new.url)
        if checked.metadata:
            image.location_metadata[new.url] = checked.metadata
        location_rules.check_quota(image, self.svc.conf.image_location_quota)
        self._settle(image, checked.size, seeds)

    def _replace(self, image: Image, value: Any) -> None:
        if not isinstance(value, list):
            raise errors.Invalid("Invalid locations: the value must be a list of locations.")
        if image.status not in EDITABLE:
            raise errors.Conflict(
                f"It's not allowed to replace locations if image status is {image.status}."
            )
        new = [location_rules.parse_location(item) for item in value]
        seeds = location_rules.seed_values(image, new, self.svc.conf.hashing_algorithm)
        urls = [loc.url for loc in new]
        if len(set(urls)) != len(urls):
            raise errors.Invalid("Invalid locations: a location is listed twice.")
        if image.locations and sorted(urls) != sorted(image.locations):
            # as Glance: a replace may reorder the locations and change their metadata only
            raise errors.Invalid("Original locations is not empty: a replace may only reorder "
                                 "them or change their metadata.")  # fmt: skip
        checked = [check_location(self.svc.store, image.id, n.url, n.metadata) for n in new]
        image.locations = urls
        image.location_metadata = {c.url: c.metadata for c in checked if c.metadata}
        location_rules.check_quota(image, self.svc.conf.image_location_quota)
        for location in checked:
            self._settle(image, location.size, seeds)

    def _remove(self, image: Image, segment: str | None) -> None:
        if image.status != "active":
            raise errors.Conflict(
                f"It's not allowed to remove locations if image status is {image.status}."
            )
        if len(image.locations) == 1:
            raise errors.Forbidden("Cannot remove last location in the image.")
        pos = location_rules.position(segment, len(image.locations), adding=False)
        url = image.locations[pos]
        image.drop_location(url)
        self.removed.append(url)

    def _settle(self, image: Image, size: int, seeds: dict[str, str]) -> None:
        """A queued image becomes active with its first location: the data's size, and the
        hashes its validation data gave. Every location holds the same data: same size."""
        if image.size is not None and size != image.size:
            raise errors.Invalid(
                f"Invalid location: its data has {size} bytes, the image {image.size}."
            )
        if image.size is None:
            image.size = size
        if image.status == "queued":
            for name, value in seeds.items():
                setattr(image, name, value)
            image.activate()

    # -- after the save -----------------------------------------------------------------------
    def discard_removed(self, image: Image) -> None:
        """Delete the data of the locations the saved patch removed (Glance does too), unless
        the image still has a location with that URL. Best effort: what fails stays an orphan
        blob, which the reaper removes."""
        for url in self.removed:
            if url in image.locations:
                continue
            try:
                self.svc.store.delete(url)
            except errors.ImgregError as exc:
                LOG.warning("image %s: data of removed location not deleted: %s", image.id, exc)
