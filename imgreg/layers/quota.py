"""Quotas: counts of properties and tags on add/save, images per owner, and bytes while an
upload streams.

An upload may not pass ``image_size_cap``, nor its owner's ``user_storage_quota``. The storage
quota is reserved in the database before the bytes it covers are written (``Reservation``):
a declared size is reserved whole before any byte is read, so a size that cannot fit is
refused at once (413); an undeclared (chunked) stream reserves ``RESERVE_STEP`` bytes ahead of
its data as it goes and is cut off when the quota has no room left. Reservations are taken
under a per-owner lock (``imgreg.db.usage``), so parallel uploads on any number of workers
never store more than the quota. The reservation ends when the image leaves ``saving``.
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

RESERVE_STEP = 64 * 1024 * 1024  # how far an undeclared stream reserves ahead of its data


class Reservation:
    """The storage quota reserved for one upload; ``cover(n)`` makes sure the first ``n``
    bytes are reserved, reserving up to ``ahead`` more (or what remains) while at it."""

    def __init__(self, repo: Any, image: Image, quota: int) -> None:
        self.repo = repo
        self.image = image
        self.quota = quota
        self.held = 0

    def cover(self, total: int, ahead: int = 0) -> None:
        if total <= self.held:
            return
        needed = total - self.held
        granted, remaining = self.repo.reserve_storage(
            self.image.id, self.image.owner, needed, needed + ahead, self.quota
        )
        if not granted:  # what remained for this image: what it holds and what is left
            raise errors.QuotaExceeded(
                "Image exceeds the storage quota: The size of the data will exceed the "
                f"limit. {self.held + remaining} bytes remaining."
            )
        self.held += granted


class LimitingReader:
    """A file-like wrapper that raises ``error`` once more than ``limit`` bytes were read and,
    given a ``reservation``, has every byte reserved before handing it on."""

    def __init__(
        self,
        stream: BinaryIO,
        limit: int,
        error: errors.ImgregError,
        reservation: Reservation | None = None,
    ) -> None:
        self.stream = stream
        self.limit = limit
        self.error = error
        self.reservation = reservation
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.limit - self.count + 1:
            size = self.limit - self.count + 1  # one byte more than allowed reveals an overrun
        data = self.stream.read(size)
        self.count += len(data)
        if self.count > self.limit:
            raise self.error
        if self.reservation is not None:
            self.reservation.cover(self.count, RESERVE_STEP)
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

    def add(self, image: Image, max_images: int | None = None) -> Image:
        check_counts(image, self.conf)
        if self.conf.image_count_quota >= 0:
            max_images = self.conf.image_count_quota
        return self.inner.add(image, max_images=max_images)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        changes = image.changes()
        if changes.added or changes.tags_changed:
            check_counts(image, self.conf)
        return self.inner.save(image, from_state=from_state)

    def upload(self, image: Image, stream: BinaryIO, size: int | None) -> Image:
        limit = self.conf.image_size_cap
        error = errors.QuotaExceeded("The incoming image is too large")
        if size is not None and size > limit:
            raise error
        reservation = None
        quota = parse_storage_quota(self.conf.user_storage_quota)
        if quota > 0:
            reservation = Reservation(self.inner, image, quota)
            if size is not None:
                reservation.cover(size)  # all of it, before the first byte is read
        reader = LimitingReader(stream, limit, error, reservation)
        return self.inner.upload(image, reader, size)
