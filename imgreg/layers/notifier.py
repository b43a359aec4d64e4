"""Notifications: tells listeners what happened, after the inner layers succeeded.

Event types, priorities and payload fields follow Glance: ``image.create`` on add,
``image.update`` on every save, ``image.delete`` on remove, and around an upload
``image.prepare`` → ``image.upload`` (ERROR with a message string if it fails) →
``image.activate``.
"""

from __future__ import annotations

from typing import BinaryIO

from imgreg.context import RequestContext
from imgreg.domain.errors import ImgregError
from imgreg.domain.image import Image, isotime, isotime_or_none, utcnow
from imgreg.domain.ports import ImageRepo, UploadSession, UploadTerms
from imgreg.layers.base import FactoryLayer, RepoLayer
from imgreg.services.messaging import Notifier


def image_payload(image: Image, deleted: bool = False) -> dict[str, object]:
    return {
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "created_at": isotime_or_none(image.created_at),
        "updated_at": isotime_or_none(image.updated_at),
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "protected": image.protected,
        "checksum": image.checksum,
        "owner": image.owner,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "is_public": image.visibility == "public",
        "visibility": image.visibility,
        "properties": dict(image.extra_properties),
        "tags": sorted(image.tags),
        "deleted": deleted,
        "deleted_at": isotime(utcnow()) if deleted else None,
    }


def _data_payload(image: Image) -> dict[str, object]:
    return {
        **image_payload(image),
        "os_glance_importing_to_stores": [],
        "os_glance_failed_import": [],
    }


class NotifierImageFactory(FactoryLayer):
    """Creating an object is not an event; ``image.create`` is sent when it is added."""


class NotifierImageRepo(RepoLayer):
    def __init__(self, inner: ImageRepo, ctx: RequestContext, notifier: Notifier) -> None:
        super().__init__(inner, ctx)
        self.notifier = notifier

    def add(self, image: Image, max_images: int | None = None) -> Image:
        image = self.inner.add(image, max_images=max_images)
        self.notifier.info("image.create", image_payload(image))
        return image

    def save(self, image: Image, from_state: str | None = None) -> Image:
        image = self.inner.save(image, from_state=from_state)
        self.notifier.info("image.update", image_payload(image))
        return image

    def remove(self, image: Image) -> None:
        self.inner.remove(image)
        self.notifier.info("image.delete", image_payload(image, deleted=True))

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession:
        session = self.inner.begin_upload(image, terms)
        self.notifier.info("image.update", image_payload(session.image))
        self.notifier.info("image.prepare", _data_payload(session.image))
        return NotifyingUpload(session, self.notifier)


class NotifyingUpload:
    """An upload session that says how it went: ``image.upload`` and ``image.activate`` when
    the data is in (``image.upload`` at ERROR if it fails), ``image.update`` when it is
    committed, or when an abort took the image back to ``queued``."""

    def __init__(self, inner: UploadSession, notifier: Notifier) -> None:
        self.inner = inner
        self.notifier = notifier
        self.image = inner.image

    def write(self, stream: BinaryIO, size: int | None) -> Image:
        try:
            image = self.inner.write(stream, size)
        except ImgregError as exc:
            self.notifier.error("image.upload", f"Failed to upload image data: {exc.message}")
            raise
        except Exception:
            self.notifier.error("image.upload", "Failed to upload image data due to an error")
            raise
        self.notifier.info("image.upload", _data_payload(image))
        if image.status == "active":
            self.notifier.info("image.activate", image_payload(image))
        return image

    def renew(self) -> None:
        self.inner.renew()

    def adopt(self) -> Image:
        image = self.inner.adopt()
        self.notifier.info("image.activate", image_payload(image))
        return image

    def commit(self) -> Image:
        self.image = self.inner.commit()
        self.notifier.info("image.update", image_payload(self.image))
        return self.image

    def abort(self) -> Image | None:
        restored = self.inner.abort()
        if restored is not None:
            self.notifier.info("image.update", image_payload(restored))
        return restored
