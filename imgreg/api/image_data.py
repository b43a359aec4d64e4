"""``PUT`` and ``GET /v2/images/{id}/file``. The upload method owns the status flow:

1. ``begin_upload()`` and save with ``from_state="queued"`` (a second upload loses here: 409);
2. ``repo.upload()`` streams through the chain to the store and activates the image;
3. save with ``from_state="saving"``; if the image was deleted meanwhile, 410;
4. on any failure: ``abort_upload()`` back to ``queued``, save, and delete whatever blob was
   written, then re-raise, so a failed upload leaves no data and can simply be retried.

While ``saving``, the upload holds a lease in the database (``images.upload_expires_at``):
``LeasedStream`` renews it every third of ``upload_lease_seconds`` while data arrives, and
once more at the end of the data, before the blob is renamed into place. A process killed
mid-upload stops renewing; once the lease expires the reaper (``imgreg.maintenance.recovery``) takes
the image back to ``queued``. An upload whose renewal fails (deleted: 410; reaped: 409) stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import webob

from imgreg import faults
from imgreg.api.ranges import requested_range
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import Image
from imgreg.layers import build_image_repo
from imgreg.services import Services

LOG = logging.getLogger(__name__)
SEND_BLOCK = 4 * 1024 * 1024


class ClientStream:
    """The request body; a failure to read it (the client went away, a broken chunked
    encoding) is the client's problem (400), not the store's."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self.body.read(size)
        except Exception as exc:
            LOG.info("upload body could not be read: %s", exc)
            raise errors.Invalid("The upload was interrupted before all data arrived.") from None
        return data


class LeasedStream:
    """Renews the upload lease (``renew()``) at most every ``interval`` seconds while data
    is read, and always when the data ends, so the blob is renamed into place only while
    the lease is held."""

    def __init__(self, stream: Any, renew: Callable[[], None], interval: float) -> None:
        self.stream = stream
        self.renew = renew
        self.interval = interval
        self.renewed = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.stream.read(size)
        now = time.monotonic()
        if not data or now - self.renewed >= self.interval:
            self.renew()
            self.renewed = now
        return data


def gone(image_id: str) -> errors.Gone:
    return errors.Gone(
        f"Image {image_id} could not be found after upload. The image may have been deleted "
        "during the upload; its data was removed."
    )


def lease_keeper(repo: Any, image_id: str) -> Callable[[], None]:
    def renew() -> None:
        try:
            repo.renew_upload_lease(image_id)
        except errors.NotFound:
            raise gone(image_id) from None
        except errors.StaleState:
            raise errors.Conflict(
                f"The upload to image {image_id} lost its lease (it was silent for longer "
                "than the lease) and was abandoned; upload the data again."
            ) from None

    return renew


def declared_size(request: webob.Request) -> int | None:
    header = request.headers.get("x-openstack-image-size")
    if header is None:
        return request.content_length
    try:
        size = int(header)
    except ValueError:
        size = -1
    if size < 0:
        raise errors.Invalid("Invalid or missing image size in request headers.")
    return size


class ImageDataController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def upload(self, request: webob.Request, image_id: str) -> webob.Response:
        if request.content_type != "application/octet-stream":
            raise errors.UnsupportedMediaType(
                f"The request media type {request.content_type or 'none'} is not supported by "
                "this server; image data must be sent as application/octet-stream."
            )
        size = declared_size(request)
        repo = build_image_repo(request.environ["imgreg.context"], self.svc)
        image = repo.get(normalize_id(image_id))
        image.begin_upload()
        try:
            repo.save(image, from_state="queued")
        except errors.StaleState:
            raise errors.Conflict(f"Image {image.id} is already being uploaded") from None
        stream = LeasedStream(
            ClientStream(request.body_file),
            lease_keeper(repo, image.id),
            self.svc.conf.upload_lease_seconds / 3,
        )
        try:
            image = repo.upload(image, stream, size)
        except BaseException:
            self._roll_back(repo, image)
            raise
        try:
            faults.hit("before_commit")
            repo.save(image, from_state="saving")
        except (errors.NotFound, errors.StaleState):
            self._roll_back(repo, image)
            raise gone(image.id) from None
        except BaseException:
            self._roll_back(repo, image)
            raise
        faults.hit("after_commit")
        return webob.Response(status=204)

    @staticmethod
    def _roll_back(repo: Any, image: Image) -> None:
        """Return the image to queued (if it still exists) and delete any blob written."""
        try:
            current = repo.get(image.id)
            if current.status == "saving":
                current.abort_upload()
                repo.save(current, from_state="saving")
        except errors.ImgregError as exc:
            LOG.info("image %s not returned to queued: %s", image.id, exc.message)
        except Exception:
            LOG.exception("image %s not returned to queued", image.id)
        repo.discard_data(image)

    def download(self, request: webob.Request, image_id: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        repo = build_image_repo(ctx, self.svc)
        image = repo.get(normalize_id(image_id))
        if image.status == "deactivated" and not ctx.is_admin:
            raise errors.Forbidden("The requested image has been deactivated. Image data "
                                   "download is forbidden.")  # fmt: skip
        # Glance's order: deactivated, then the download policy, then no data (204) or the range
        try:
            repo.check_download(image)
        except errors.NoData:
            return webob.Response(status=204)
        size = image.size or 0  # not None: check_download said there is data
        span = requested_range(
            request.headers.get("Range"), request.headers.get("Content-Range"), size
        )
        response = webob.Response(content_type="application/octet-stream", charset=None)
        if image.checksum:
            response.headers["Content-MD5"] = image.checksum  # whole-image hex md5, as Glance
        if span is None:
            reader = repo.open_data(image)
        else:
            first, last = span
            reader = repo.open_data(image, first, last - first + 1)
            response.status = 206
            response.headers["Content-Range"] = f"bytes {first}-{last}/{image.size}"
        file_wrapper = request.environ.get("wsgi.file_wrapper")
        if file_wrapper is not None and hasattr(reader, "file"):
            # A plain file (already verified when whole): the server may use sendfile(); it
            # sends Content-Length bytes from the file's current position.
            response.app_iter = file_wrapper(reader.file, SEND_BLOCK)
        else:
            response.app_iter = _closing(reader)
        # After app_iter: assigning app_iter drops the Content-Length webob had computed.
        response.content_length = reader.size
        return response


def _closing(reader: Any) -> Any:
    try:
        yield from reader
    finally:
        reader.close()
