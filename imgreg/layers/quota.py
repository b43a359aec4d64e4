"""Quotas: counts of properties and tags on add/save, images per owner, and the terms of an
upload: it may not pass ``image_size_cap``, nor its owner's ``user_storage_quota``, which its
session (``imgreg.layers.upload``) enforces on the bytes, reserving the storage quota in the
database ahead of them. The reservation ends when the image leaves ``saving``. A resumable
upload session holds its declared length of that quota while it lives (``hold_for_session``,
``imgreg.db.session_holds``), which its final upload takes over.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.domain.ports import ImageFactory, ImageRepo, UploadSession, UploadTerms
from imgreg.layers.base import FactoryLayer, RepoLayer

UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
QUOTA_TEXT = re.compile(r"^\s*(\d+)\s*([KMGT]?B)?\s*$", re.IGNORECASE)


@functools.lru_cache(maxsize=8)
def parse_storage_quota(value: str) -> int:
    """``"10GB"`` → bytes (binary units, as Glance reads ``user_storage_quota``)."""
    match = QUOTA_TEXT.match(value)
    if match is None:
        raise ValueError(f"invalid user_storage_quota {value!r}: use a number with B/KB/MB/GB/TB")
    return int(match.group(1)) * UNITS[(match.group(2) or "").upper()]


def check_counts(image: Image, conf: cfg.ConfigOpts) -> None:
    props = [k for k in image.extra_properties if not k.startswith("os_glance")]
    for what, count, limit in (
        ("properties", len(props), conf.image_property_quota),
        ("tags", len(image.tags), conf.image_tag_quota),
    ):
        if 0 <= limit < count:
            raise errors.QuotaExceeded(
                f"Maximum number of image {what} exceeded. Attempted: {count}, Maximum: {limit}"
            )


def check_data_size(image: Image, used: int, conf: cfg.ConfigOpts) -> None:
    """Data that arrives by a location, not an upload (whose session counts the bytes): its
    size may not pass ``image_size_cap``, nor, with ``used`` bytes its owner holds already,
    ``user_storage_quota`` (413, as Glance's location quota checks)."""
    size = image.size or 0
    if size > conf.image_size_cap:
        raise errors.QuotaExceeded(
            f"The image's data ({size} bytes) exceeds image_size_cap ({conf.image_size_cap})"
        )
    quota = parse_storage_quota(conf.user_storage_quota)
    if quota and used + size > quota:
        raise errors.QuotaExceeded(
            f"Denying attempt to add a location because it exceeds the quota: the image's "
            f"{size} bytes and the {used} bytes stored pass {quota}"
        )


class QuotaImageFactory(FactoryLayer):
    def __init__(self, inner: ImageFactory, ctx: RequestContext, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx)
        self.conf = conf

    def new_image(self, owner: str | None, **kwargs: object) -> Image:
        image = self.inner.new_image(owner, **kwargs)
        check_counts(image, self.conf)
        return image


class QuotaImageRepo(RepoLayer):
    def __init__(self, inner: ImageRepo, ctx: RequestContext, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx)
        self.conf = conf

    def add(self, image: Image, max_images: int | None = None) -> Image:
        check_counts(image, self.conf)
        if self.conf.image_count_quota >= 0:
            max_images = self.conf.image_count_quota
        return self.inner.add(image, max_images=max_images)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        changes = image.changes()
        if changes.added or changes.tags_changed:
            check_counts(image, self.conf)
        if changes.status_before == "queued" and "size" in changes.fields:  # a location's data
            check_data_size(image, self.inner.usage(image.owner)[0], self.conf)
        return self.inner.save(image, from_state=from_state)

    def hold_for_session(self, image: Image, nbytes: int, lease: float, quota: int = 0) -> None:
        """A resumable session holds its declared length of the storage quota, as the upload
        it ends in would (the same cap and quota)."""
        if nbytes > self.conf.image_size_cap:
            raise errors.RequestTooLarge("The incoming image is too large")
        quota = parse_storage_quota(self.conf.user_storage_quota)
        self.inner.hold_for_session(image, nbytes, lease, quota)

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        terms = dataclasses.replace(
            terms,
            size_cap=self.conf.image_size_cap,
            storage_quota=parse_storage_quota(self.conf.user_storage_quota),
        )
        return self.inner.begin_upload(image, terms)
