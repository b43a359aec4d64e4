"""``PUT``, ``GET`` and ``HEAD /v2/images/{id}/file``.

A download carries the data's ``ETag`` and ``Repr-Digest`` (``imgreg.api.repr_digests``);
``If-None-Match`` on it is 304, ``If-Range`` that is not the data's ``ETag`` gets the whole
data; HEAD answers a whole download's headers without reading the
data. An upload's ``Repr-Digest`` is checked before the image takes the data; its ``If-Match``
(the image's ``ETag``) makes it conditional, as on PATCH.

An upload moves the image queued → saving in memory (``Image.begin_upload``: a wrong status or
missing formats are refused first), then asks the chain once to ``begin_upload``: the layers
check ownership and ``upload_image``, the database saves it ``saving`` if it was still
``queued`` (a second upload loses: 409) and takes the upload lease. The session it returns
(``imgreg.layers.upload``) takes the bytes, then commits the image active (410 if it was
deleted meanwhile); on any failure it is aborted: back to ``queued``, no blob left, so a failed
upload can simply be retried. A process killed mid-upload stops renewing the lease; once it
expires the reaper (``imgreg.maintenance.recovery``) takes the image back to ``queued``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

import webob

from imgreg import faults
from imgreg.api.cache_reads import forget_if_gone, open_cached
from imgreg.api.content_digest import range_digest
from imgreg.api.ranges import requested_range
from imgreg.api.repr_digests import add_data_headers, data_etag, data_response, parse_repr_digest
from imgreg.api.stores import preferred_stores, store_header
from imgreg.api.validators import (
    not_modified,
    not_modified_response,
    range_applies,
    require_if_match,
)
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import Image
from imgreg.domain.ports import BlobReader, ImageRepo, UploadTerms
from imgreg.layers import build_image_repo
from imgreg.services import Services

LOG = logging.getLogger(__name__)
SEND_BLOCK = 4 * 1024 * 1024


class ClientStream:
    """The request body; a failure to read it (the client went away, a broken chunked
    encoding) is the client's problem (400), not the store's."""

    def __init__(self, body: BinaryIO) -> None:
        self.body = body

    @classmethod
    def of(cls, request: webob.Request) -> ClientStream:
        """The request's body: the server's input itself when it says it never reads past
        the body (``bounded``: imgreg-api's ``imgreg.server.direct_body``), else webob's
        ``body_file``, which wraps a Content-Length body in a length check and a buffer (two
        more copies of each byte)."""
        raw = request.body_file_raw
        if getattr(raw, "bounded", False) is True:
            return cls(raw)
        return cls(request.body_file)

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self.body.read(size)
        except Exception as exc:
            LOG.info("upload body could not be read: %s", exc)
            raise errors.Invalid("The upload was interrupted before all data arrived.") from None
        return data


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


def receive(
    request: webob.Request,
    svc: Services,
    image_id: str,
    start: Callable[[Image], None],
    store: str | None = None,
) -> None:
    """The request body into the image's data, through one upload session: ``PUT /file``
    (``start``: ``Image.begin_upload``) and ``PUT /stage`` (``Image.begin_stage``); ``store``:
    the store it goes to (None: the default)."""
    if request.content_type != "application/octet-stream":
        raise errors.UnsupportedMediaType(
            f"The request media type {request.content_type or 'none'} is not supported by "
            "this server; image data must be sent as application/octet-stream."
        )
    size = declared_size(request)
    digests = parse_repr_digest(request.headers.get("Repr-Digest"))
    repo = build_image_repo(request.environ["imgreg.context"], svc)
    image = repo.get(normalize_id(image_id))
    require_if_match(request, image)  # checked by the database with the move to saving
    stream = cast(BinaryIO, ClientStream.of(request))
    take_data(repo, image, start, stream, size, UploadTerms(store=store, digests=digests))


def take_data(
    repo: ImageRepo,
    image: Image,
    start: Callable[[Image], None],
    stream: BinaryIO,
    size: int | None,
    terms: UploadTerms,
) -> None:
    """``stream`` into ``image``'s data through one upload session: a PUT's body, or a
    resumable upload's complete data (``imgreg.api.resumable``)."""
    start(image)
    upload = repo.begin_upload(image, terms)
    try:
        upload.write(stream, size)
        faults.hit("before_commit")
        upload.commit()
    except BaseException:
        upload.abort()
        raise


class ImageDataController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def upload(self, request: webob.Request, image_id: str) -> webob.Response:
        # checked first, as Glance does: an unknown store is 400 whatever the image
        store = store_header(request, self.svc.store)
        receive(request, self.svc, image_id, Image.begin_upload, store)
        faults.hit("after_commit")
        return webob.Response(status=204)

    def download(self, request: webob.Request, image_id: str) -> webob.Response:
        ctx = request.environ["imgreg.context"]
        repo = build_image_repo(ctx, self.svc)
        try:
            image = repo.get(normalize_id(image_id))
        except errors.NotFound:
            forget_if_gone(self.svc, image_id, ctx.request_id)
            raise
        prefer = preferred_stores(request, self.svc.store)
        if image.status == "deactivated" and not ctx.is_admin:
            raise errors.Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
            )
        # Glance's order: deactivated, then the download policy, then no data (204) or the range
        try:
            repo.check_download(image)
        except errors.NoData:
            return webob.Response(status=204)
        size = image.size or 0  # not None: check_download said there is data
        etag = data_etag(image)
        if etag is not None and not_modified(request, etag):
            return not_modified_response(etag)
        if request.method == "HEAD":  # a whole download's headers (no Range: RFC 9110 14.2)
            response = data_response(image)
            response.content_length = size
            return response
        ranged = request.headers.get("Range") if range_applies(request, etag) else None
        span = requested_range(ranged, request.headers.get("Content-Range"), size)
        response = webob.Response(content_type="application/octet-stream", charset=None)
        if image.checksum:
            response.headers["Content-MD5"] = image.checksum  # whole-image hex md5, as Glance
        content_digest = None
        if span is not None:
            first, last = span
            content_digest = range_digest(
                request.headers.get("Want-Content-Digest"),
                last - first + 1,
                lambda: self._open(repo, image, span, prefer),
            )
        reader = self._open(repo, image, span, prefer)
        if span is not None:
            first, last = span
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
        add_data_headers(response, image, whole=span is None)
        if content_digest is not None:
            response.headers["Content-Digest"] = content_digest
        return response

    def _open(
        self,
        repo: ImageRepo,
        image: Image,
        span: tuple[int, int] | None,
        prefer: tuple[str, ...],
    ) -> BlobReader:
        """The download's reader: the image cache's copy, else the store's."""
        cached = open_cached(self.svc, repo, image, span, prefer)
        if cached is not None:
            return cached
        if span is None:
            return repo.open_data(image, prefer=prefer)
        first, last = span
        return repo.open_data(image, first, last - first + 1, prefer)


def _closing(reader: BlobReader) -> Iterator[bytes]:
    try:
        yield from reader
    finally:
        reader.close()
