"""Quotas: counts of properties and tags on add/save, and bytes while an upload streams.

The byte limit of an upload is the smaller of ``image_size_cap`` and what is left of the
owner's ``user_storage_quota``. A declared size above it is refused before any byte is read;
an undeclared (chunked) stream is cut off as soon as it passes the limit.
"""

from __future__ import annotations

import functools
import re
from typing import Any, BinaryIO

from oslo_config import cfg

from imgreg.context import RequestContext
from imgreg.domain import errors
from imgreg.domain.image import Image
from imgreg.layers.base import FactoryLayer, RepoLayer


class LimitingReader:
    """A file-like wrapper that raises ``error`` once more than ``limit`` bytes were read."""

    def __init__(self, stream: BinaryIO, limit: int, error: errors.ImgregError) -> None:
        self.stream = stream
        self.limit = limit
        self.error = error
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.limit - self.count + 1:
            size = self.limit - self.count + 1  # one byte more than allowed reveals an overrun
        data = self.stream.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise self.error
        return data


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


class QuotaImageFactory(FactoryLayer):
    def __init__(self, inner: Any, ctx: RequestContext, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx)
        self.conf = conf

    def new_image(self, owner: str | None, **kwargs: Any) -> Image:
        image = self.inner.new_image(owner, **kwargs)
        check_counts(image, self.conf)
        return image


class QuotaImageRepo(RepoLayer):
    def __init__(self, inner: Any, ctx: RequestContext, conf: cfg.ConfigOpts) -> None:
        super().__init__(inner, ctx)
        self.conf = conf

    def add(self, image: Image) -> Image:
        check_counts(image, self.conf)
        return self.inner.add(image)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        changes = image.changes()
        if changes.added or changes.tags_changed:
            check_counts(image, self.conf)
        return self.inner.save(image, from_state=from_state)

    def upload(self, image: Image, stream: BinaryIO, size: int | None) -> Image:
        limit = self.conf.image_size_cap
        error: errors.ImgregError = errors.QuotaExceeded("The incoming image is too large")
        quota = parse_storage_quota(self.conf.user_storage_quota)
        if quota > 0:
            remaining = max(0, quota - self.inner.storage_used(image.owner))
            if remaining < limit:
                limit = remaining
                error = errors.QuotaExceeded(
                    "Image exceeds the storage quota: The size of the data will exceed the "
                    f"limit. {remaining} bytes remaining."
                )
        if size is not None and size > limit:
            raise error
        return self.inner.upload(image, LimitingReader(stream, limit, error), size)
