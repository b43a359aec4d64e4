"""``RepoLayer`` and ``FactoryLayer``: explicit pass-through delegation for the chain.

A layer subclasses one of these and overrides only the operations it guards; every other call
goes straight to ``inner``. No ``__getattr__`` magic: a traceback names the layer it is in.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from imgreg.context import RequestContext
from imgreg.domain.image import Image
from imgreg.domain.query import ListQuery
from imgreg.store import BlobReader


class RepoLayer:
    def __init__(self, inner: Any, ctx: RequestContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def get(self, image_id: str) -> Image:
        return self.inner.get(image_id)

    def list(self, query: ListQuery) -> list[Image]:
        return self.inner.list(query)

    def add(self, image: Image, max_images: int | None = None) -> Image:
        return self.inner.add(image, max_images=max_images)

    def save(self, image: Image, from_state: str | None = None) -> Image:
        return self.inner.save(image, from_state=from_state)

    def remove(self, image: Image) -> None:
        self.inner.remove(image)

    def upload(self, image: Image, stream: BinaryIO, size: int | None) -> Image:
        return self.inner.upload(image, stream, size)

    def check_download(self, image: Image) -> None:
        """Raise unless the caller may download the image's data and there is data
        (``NoData``): what a download decides before it reads a range or any byte. Ends at the
        location layer, which knows the data."""
        self.inner.check_download(image)

    def open_data(self, image: Image, offset: int = 0, length: int | None = None) -> BlobReader:
        return self.inner.open_data(image, offset, length)

    def discard_data(self, image: Image) -> None:
        """Delete blobs an unfinished upload wrote (the image row no longer points at them)."""
        self.inner.discard_data(image)

    def renew_upload_lease(self, image_id: str) -> None:
        """Housekeeping of a running upload (its image is already authorized): no layer
        guards it."""
        self.inner.renew_upload_lease(image_id)

    def member_status(self, image_id: str, member: str) -> str | None:
        return self.inner.member_status(image_id, member)

    def storage_used(self, owner: str | None) -> int:
        return self.inner.storage_used(owner)

    def reserve_storage(
        self, image_id: str, owner: str | None, needed: int, wanted: int, quota: int
    ) -> tuple[int, int]:
        """Quota bookkeeping of a running upload (see ``QuotaImageRepo``): passes through."""
        return self.inner.reserve_storage(image_id, owner, needed, wanted, quota)


class FactoryLayer:
    def __init__(self, inner: Any, ctx: RequestContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def new_image(self, owner: str | None, **kwargs: Any) -> Image:
        return self.inner.new_image(owner, **kwargs)
