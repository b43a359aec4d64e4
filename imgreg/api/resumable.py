"""Resumable uploads for ``PUT /file`` and ``PUT /stage``: the tus 1.0.0 protocol (core,
creation, creation-with-upload, termination, checksum, expiration).

    POST    /v2/images/{id}/file            (Tus-Resumable, Upload-Length) → 201, Location
    OPTIONS /v2/images/{id}/file            (Tus-Resumable) → 204, what this server speaks
    HEAD    /v2/images/{id}/file/uploads/{s} → Upload-Offset, Upload-Length
    PATCH   /v2/images/{id}/file/uploads/{s} (Upload-Offset, application/offset+octet-stream)
    DELETE  /v2/images/{id}/file/uploads/{s} → 204, the session and its bytes gone

and the same under ``/stage``. Only requests carrying ``Tus-Resumable`` reach the first two,
so a client that does not speak tus sees Glance's answers there; the session URLs are new.
The bytes are spooled durably (``imgreg.store.resumable``); the last one sends the whole
data through the normal upload (``image_data.take_data``: the chain's checks, quota, format
inspection, the store's hashes), with the caller of that last request. Until then the image
stays ``queued``. A session is its creator's project's: anyone else gets 404.

A session holds its image (``ImageRepo.hold_for_session``, ``imgreg.db.session_holds``) from
its creation to its end: its declared length of the owner's storage quota (over quota: 413,
nothing spooled) and the image itself (a second session on it: 409), renewed by each chunk.
The final upload takes the hold over as its reservation; DELETE and a final pass that never
began release it; the reaper releases the hold of a session that expired.
"""

from __future__ import annotations

import email.utils
import re
from typing import BinaryIO, cast

import webob

from imgreg.api import errors as api_errors
from imgreg.api import interim
from imgreg.api.image_data import ClientStream, take_data
from imgreg.api.repr_digests import parse_repr_digest
from imgreg.api.stores import store_header
from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.image import Image
from imgreg.domain.ports import UploadTerms
from imgreg.layers import build_image_repo
from imgreg.layers.policy import image_target
from imgreg.services import Services
from imgreg.store.resumable import (
    CHECKSUM_ALGOS,
    ChecksumMismatch,
    Session,
    SessionSpool,
    parse_checksum,
)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHUNK_TYPE = "application/offset+octet-stream"
IETF_CHUNK_TYPE = "application/partial-upload"
IETF_CREATION_TYPES = ("application/octet-stream", IETF_CHUNK_TYPE)
_NUMBER = re.compile(r"^[0-9]{1,19}$")
STARTS = {"file": Image.begin_upload, "stage": Image.begin_stage}


def is_resumable(environ: dict[str, object], _match: object = None) -> bool:
    """A Routes condition: the request speaks tus or the IETF draft."""
    return "HTTP_TUS_RESUMABLE" in environ or "HTTP_UPLOAD_COMPLETE" in environ


def is_ietf(request: webob.Request) -> bool:
    """The IETF draft's dialect ("Resumable Uploads for HTTP"): no ``Tus-Resumable`` (POST
    and OPTIONS on /file and /stage then need ``Upload-Complete`` to get here at all)."""
    return "Tus-Resumable" not in request.headers


def upload_complete(request: webob.Request) -> bool:
    """``Upload-Complete`` (a structured-field boolean: ``?1`` or ``?0``)."""
    value = request.headers.get("Upload-Complete")
    if value not in ("?0", "?1"):
        raise errors.Invalid("Upload-Complete must be ?1 or ?0.")
    return value == "?1"


def _number(request: webob.Request, name: str) -> int:
    value = request.headers.get(name)
    if value is None or not _NUMBER.match(value):
        raise errors.Invalid(f"Missing or invalid {name} header.")
    return int(value)


def _reply(request: webob.Request, response: webob.Response) -> webob.Response:
    if not is_ietf(request):
        response.headers["Tus-Resumable"] = TUS_VERSION
    return response


class ResumableUploadController:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        root = svc.conf.resumable_upload_dir
        self.spool = SessionSpool(root, svc.conf.resumable_upload_expiry) if root else None

    def _spool(self, request: webob.Request) -> SessionSpool:
        if self.spool is None:
            raise errors.NotFound("Resumable uploads are not enabled.")
        version = request.headers.get("Tus-Resumable")
        if is_ietf(request):
            if "Upload-Complete" in request.headers:
                upload_complete(request)  # well-formed
        elif request.method != "OPTIONS" and version != TUS_VERSION:
            raise errors.PreconditionFailed(
                "Unsupported Tus-Resumable version.", headers={"Tus-Version": TUS_VERSION}
            )
        return self.spool

    def _target(self, target: str) -> None:
        if target == "stage" and "glance-direct" not in self.svc.conf.enabled_import_methods:
            raise errors.NotFound("The glance-direct import method is not enabled.")

    def options(self, request: webob.Request, image_id: str, target: str) -> webob.Response:
        self._spool(request)
        self._target(target)
        response = webob.Response(status=204)
        response.headers["Tus-Version"] = TUS_VERSION
        response.headers["Tus-Extension"] = EXTENSIONS
        response.headers["Tus-Max-Size"] = str(self.svc.conf.image_size_cap)
        response.headers["Tus-Checksum-Algorithm"] = ",".join(CHECKSUM_ALGOS)
        return _reply(request, response)

    def create(self, request: webob.Request, image_id: str, target: str) -> webob.Response:
        spool = self._spool(request)
        self._target(target)
        store = store_header(request, self.svc.store) if target == "file" else None
        length = self._length(request)
        if length > self.svc.conf.image_size_cap:
            raise errors.RequestTooLarge("The incoming image is too large")
        digests = parse_repr_digest(request.headers.get("Repr-Digest"))
        ctx = request.environ["imgreg.context"]
        repo = build_image_repo(ctx, self.svc)
        image = repo.get(normalize_id(image_id))
        STARTS[target](image)  # in memory only: refused now as the last byte's PUT would be
        # the chain's own upload checks, now: no one spools bytes they could not upload
        if not (ctx.is_admin or ctx.is_project(image.owner)):
            raise errors.Forbidden("You do not own this image")
        self.svc.policy.enforce(ctx, "upload_image", image_target(image))
        types = IETF_CREATION_TYPES if is_ietf(request) else (CHUNK_TYPE,)
        with_body = request.content_type in types
        chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if (request.content_length or chunked) and not with_body:
            raise _unsupported_type(request, types[0])
        # the session's hold on the image: its length of the quota, and no other session
        repo.hold_for_session(image, length, spool.expiry)
        try:
            session = spool.create(
                Session(
                    id="",
                    image_id=image.id,
                    target=target,
                    project=ctx.project_id,
                    length=length,
                    store=store,
                    digests=[(algo, value.hex()) for algo, value in digests],
                )
            )
        except BaseException:
            repo.release_session_hold(image.id)
            raise
        response = webob.Response(status=201)
        response.location = f"/v2/images/{image.id}/{target}/uploads/{session.id}"
        if with_body and is_ietf(request) and self.svc.conf.resumable_interim_responses:
            interim.send_upload_url(request.environ, request.host_url + response.location)
        if with_body or length == 0:
            with spool.locked(session.id):
                self._append(request, spool, session, target)
            response.headers["Upload-Offset"] = str(session.offset)
        response.headers["Upload-Expires"] = _http_date(session.expires)
        return _reply(request, response)

    @staticmethod
    def _length(request: webob.Request) -> int:
        """tus: ``Upload-Length``; the draft: that, or a complete upload's Content-Length."""
        if not is_ietf(request) or "Upload-Length" in request.headers:
            return _number(request, "Upload-Length")
        if upload_complete(request) and request.content_length is not None:
            return int(request.content_length)
        raise errors.Invalid(
            "An upload of unknown length is not supported: send Upload-Length, or the whole "
            "data with Upload-Complete: ?1."
        )

    def _session(
        self, request: webob.Request, image_id: str, target: str, session_id: str
    ) -> tuple[SessionSpool, Session]:
        spool = self._spool(request)
        self._target(target)
        session = spool.load(session_id)
        ctx = request.environ["imgreg.context"]
        # no match on a missing value: a session of no project is no one's but an admin's
        mine = session.project is not None and session.project == ctx.project_id
        if session.image_id != image_id or session.target != target or not mine:
            raise errors.NotFound("Upload session not found")
        return spool, session

    def status(
        self, request: webob.Request, image_id: str, target: str, session_id: str
    ) -> webob.Response:
        _spool, session = self._session(request, image_id, target, session_id)
        response = webob.Response(status=204 if is_ietf(request) else 200)
        if is_ietf(request):
            response.headers["Upload-Complete"] = "?0"  # a complete upload has no session
        response.headers["Upload-Offset"] = str(session.offset)
        response.headers["Upload-Length"] = str(session.length)
        response.headers["Upload-Expires"] = _http_date(session.expires)
        response.headers["Cache-Control"] = "no-store"
        return _reply(request, response)

    def patch(
        self, request: webob.Request, image_id: str, target: str, session_id: str
    ) -> webob.Response:
        spool, session = self._session(request, image_id, target, session_id)
        chunk_type = IETF_CHUNK_TYPE if is_ietf(request) else CHUNK_TYPE
        if request.content_type != chunk_type:
            raise _unsupported_type(request, chunk_type)
        offset = _number(request, "Upload-Offset")
        last = is_ietf(request) and upload_complete(request)
        if last and request.content_length != session.length - offset:
            # the last chunk must end exactly at the length given at the start
            raise errors.Invalid("Upload-Complete: ?1 on a chunk that does not end the data.")
        checksum = parse_checksum(request.headers.get("Upload-Checksum"))
        with spool.locked(session.id):
            session = spool.load(session.id)  # what the lock holder before us left
            if offset != session.offset:
                raise errors.Conflict(
                    f"Upload-Offset {offset} is not the upload's offset {session.offset}."
                )
            self._renew(request, spool, session)
            try:
                self._append(request, spool, session, target, checksum)
            except ChecksumMismatch as exc:
                return _reply(request, api_errors.error_response(request, 460, exc.message))
            finally:
                if session.offset < session.length:
                    self._renew(request, spool, session)  # expires as the spool's copy does
        response = webob.Response(status=204)
        response.headers["Upload-Offset"] = str(session.offset)
        response.headers["Upload-Expires"] = _http_date(session.expires)
        return _reply(request, response)

    def terminate(
        self, request: webob.Request, image_id: str, target: str, session_id: str
    ) -> webob.Response:
        spool, session = self._session(request, image_id, target, session_id)
        with spool.locked(session.id):
            spool.delete(session.id)
            build_image_repo(request.environ["imgreg.context"], self.svc).release_session_hold(
                session.image_id
            )
        return _reply(request, webob.Response(status=204))

    def _renew(self, request: webob.Request, spool: SessionSpool, session: Session) -> None:
        """Extend the session's hold on its image; a session that lost it (expired, and the
        reaper released it) is gone: 404, its bytes deleted."""
        repo = build_image_repo(request.environ["imgreg.context"], self.svc)
        try:
            repo.renew_session_hold(session.image_id, spool.expiry)
        except errors.NotFound:
            spool.delete(session.id)
            raise

    def _append(
        self,
        request: webob.Request,
        spool: SessionSpool,
        session: Session,
        target: str,
        checksum: tuple[str, bytes] | None = None,
    ) -> None:
        count = request.content_length
        if count or count is None:
            body = cast(BinaryIO, ClientStream.of(request))  # a broken body is 400
            spool.append(session, body, count, checksum)
        if session.offset == session.length:
            self._finish(request, spool, session, target)

    def _finish(
        self, request: webob.Request, spool: SessionSpool, session: Session, target: str
    ) -> None:
        """The complete data through the normal upload; the session ends whatever happens
        (a refusal there, format or quota, would refuse the same bytes again)."""
        repo = build_image_repo(request.environ["imgreg.context"], self.svc)
        try:
            image = repo.get(session.image_id)
            digests = tuple((algo, bytes.fromhex(value)) for algo, value in session.digests)
            terms = UploadTerms(store=session.store, digests=digests)
            with spool.open_data(session) as data:
                take_data(repo, image, STARTS[target], data, session.length, terms)
        finally:
            spool.delete(session.id)
            # the upload took the hold over and dropped it; if it never began, drop it here
            repo.release_session_hold(session.image_id)


def _unsupported_type(request: webob.Request, wanted: str) -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType(
        f"The request media type {request.content_type or 'none'} is not supported here; "
        f"upload chunks must be sent as {wanted}."
    )


def _http_date(when: float) -> str:
    return email.utils.formatdate(when, usegmt=True)
