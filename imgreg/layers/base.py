"""``RepoLayer`` and ``FactoryLayer``: explicit pass-through delegation for the chain.

A layer subclasses one of these and overrides only the operations it guards; every other call
goes straight to ``inner``. No ``__getattr__`` magic: a traceback names the layer it is in.
The operations are those of ``imgreg.domain.ports.ImageRepo``: what some layer guards, and
nothing else (an upload's lease and storage reservation belong to its session).
"""

from __future__ import annotations

from imgreg.context import RequestContext
from imgreg.domain.image import Image
from imgreg.domain.ports import BlobReader, ImageFactory, ImageRepo, UploadSession, UploadTerms
from imgreg.domain.query import ListQuery


class RepoLayer:
    def __init__(self, inner: ImageRepo, ctx: RequestContext) -> None:
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

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        """Start an upload of ``image`` (already moved to ``saving`` in memory by
        ``Image.begin_upload``): the one operation of an upload the layers guard."""
        return self.inner.begin_upload(image, terms)

    def usage(self, owner: str | None) -> tuple[int, int]:
        return self.inner.usage(owner)

    def hold_for_session(self, image: Image, nbytes: int, lease: float, quota: int = 0) -> None:
        self.inner.hold_for_session(image, nbytes, lease, quota)

    def renew_session_hold(self, image_id: str, lease: float) -> None:
        self.inner.renew_session_hold(image_id, lease)

    def release_session_hold(self, image_id: str) -> None:
        self.inner.release_session_hold(image_id)

    def check_download(self, image: Image) -> None:
        """Raise unless the caller may download the image's data and there is data
        (``NoData``): what a download decides before it reads a range or any byte. Ends at the
        location layer, which knows the data."""
        self.inner.check_download(image)

    def open_data(
        self, image: Image, offset: int = 0, length: int | None = None, prefer: tuple[str, ...] = ()
    ) -> BlobReader:
        return self.inner.open_data(image, offset, length, prefer)


class FactoryLayer:
    def __init__(self, inner: ImageFactory, ctx: RequestContext) -> None:
        self.inner = inner
        self.ctx = ctx

    def new_image(self, owner: str | None, **kwargs: object) -> Image:
        return self.inner.new_image(owner, **kwargs)
