"""The interfaces the layers of the chain share (``imgreg.layers``), as typing protocols.

Every layer is an ``ImageRepo`` (or ``ImageFactory``, ``MemberRepo``) over another one, and
the innermost, ``imgreg.db``, is one too; a layer may be typed against these alone.

An upload is an object, not callbacks into the chain (as distribution's ``BlobWriter``):
``ImageRepo.begin_upload`` is the one guarded operation, checked once by the layers on its
way in; it returns an ``UploadSession`` that takes the bytes, then commits or aborts. Under
it, the database's ``UploadLedger`` owns what an upload holds there: the status, the lease and
the storage reserved.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from imgreg.domain.image import Image
from imgreg.domain.member import Member
from imgreg.domain.query import ListQuery
from imgreg.domain.task import Task
from imgreg.domain.task_query import TaskQuery


class BlobReader(Protocol):
    """Image data as it is read back: ``size`` bytes, iterated in blocks, then closed."""

    size: int  # bytes this reader yields

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


# Who is a member of an image: (image id, project) -> the membership's status, or None.
MemberLookup = Callable[[str, str], "str | None"]


@dataclasses.dataclass(frozen=True)
class UploadTerms:
    """What the layers decide when an upload starts and its session enforces on the bytes:
    ``size_cap`` (bytes, ``None``: no cap) and ``storage_quota`` (bytes its owner may hold
    in all; 0: unlimited), the ``store`` the data goes to (an id of ``enabled_backends``;
    ``None``: the default store), and the ``digests`` the client says the data has
    (``(hashlib name, digest)``, from ``Repr-Digest``), checked before the data is kept."""

    size_cap: int | None = None
    storage_quota: int = 0
    store: str | None = None
    digests: tuple[tuple[str, bytes], ...] = ()


class UploadLedger(Protocol):
    """What an upload holds in the database while its image is ``saving``."""

    image: Image
    carried: int  # bytes reserved already when it began (a resumable session's hold)

    def renew(self) -> None:
        """Extend the lease; ``NotFound``/``StaleState`` when the upload must stop."""

    def reserve(self, needed: int, wanted: int, quota: int) -> tuple[int, int]:
        """Reserve up to ``wanted`` bytes if ``needed`` fit: (reserved, what remained)."""
        ...

    def commit(self, image: Image) -> Image:
        """Save the uploaded image (``saving`` → what it became), dropping lease and
        reservation; ``NotFound``/``StaleState`` when it was deleted or taken back."""
        ...

    def abort(self) -> Image | None:
        """Back to ``queued`` if still ``saving``: the image so saved, else ``None``."""
        ...


class UploadSession(Protocol):
    """One upload of image data: ``write`` the bytes once, then ``commit`` or ``abort``.
    ``abort`` may be called after anything, more than once, and leaves no data behind."""

    image: Image

    def write(self, stream: BinaryIO, size: int | None) -> Image: ...

    def renew(self) -> None:
        """Hold the lease while work before ``write`` or ``adopt`` takes time (an import's
        plugins); raises as a failed renewal would stop ``write``."""

    def adopt(self) -> Image:
        """Instead of ``write``: take the staged data as the image's (an import with
        nothing to change in it)."""
        ...

    def commit(self) -> Image: ...

    def abort(self) -> Image | None: ...


class ImageRepo(Protocol):
    def get(self, image_id: str) -> Image: ...

    def list(self, query: ListQuery) -> list[Image]: ...

    def add(self, image: Image, max_images: int | None = None) -> Image: ...

    def save(self, image: Image, from_state: str | None = None) -> Image: ...

    def remove(self, image: Image) -> None: ...

    def begin_upload(self, image: Image, terms: UploadTerms) -> UploadSession: ...

    def hold_for_session(self, image: Image, nbytes: int, lease: float, quota: int = 0) -> None:
        """A resumable upload session's hold on the queued ``image`` for ``lease`` seconds:
        ``nbytes`` of its owner's storage ``quota`` reserved (413 if they do not fit), and no
        other session on it (409)."""

    def renew_session_hold(self, image_id: str, lease: float) -> None:
        """Extend the hold ``lease`` seconds from now; ``NotFound`` when it is gone."""

    def release_session_hold(self, image_id: str) -> None:
        """Drop the hold, if the image still has one."""

    def usage(self, owner: str | None) -> tuple[int, int]:
        """(bytes stored, live images) of ``owner``'s images."""
        ...

    def check_download(self, image: Image) -> None: ...

    def open_data(
        self, image: Image, offset: int = 0, length: int | None = None, prefer: tuple[str, ...] = ()
    ) -> BlobReader:
        """The data of ``image``, from its copy in the first of the ``prefer`` stores that has
        one, else in order of store weight, falling back to the next copy when one's store
        fails to open it."""
        ...


class RecordRepo(Protocol):
    """The innermost repository, the records without the data: an ``ImageRepo`` whose upload
    is its ledger (the location layer puts the data beside it)."""

    def get(self, image_id: str) -> Image: ...

    def list(self, query: ListQuery) -> list[Image]: ...

    def add(self, image: Image, max_images: int | None = None) -> Image: ...

    def save(self, image: Image, from_state: str | None = None) -> Image: ...

    def remove(self, image: Image) -> None: ...

    def begin_upload(self, image: Image) -> UploadLedger: ...

    def hold_for_session(self, image: Image, nbytes: int, lease: float, quota: int = 0) -> None:
        """A resumable upload session's hold on the queued ``image`` for ``lease`` seconds:
        ``nbytes`` of its owner's storage ``quota`` reserved (413 if they do not fit), and no
        other session on it (409)."""

    def renew_session_hold(self, image_id: str, lease: float) -> None:
        """Extend the hold ``lease`` seconds from now; ``NotFound`` when it is gone."""

    def release_session_hold(self, image_id: str) -> None:
        """Drop the hold, if the image still has one."""

    def usage(self, owner: str | None) -> tuple[int, int]: ...


class ImageFactory(Protocol):
    def new_image(self, owner: str | None, **fields: object) -> Image:
        """``fields``: ``image_id``, ``tags``, ``extra_properties`` and the mutable fields."""
        ...


class MemberRepo(Protocol):
    def list(self) -> list[Member]: ...

    def get(self, member_id: str) -> Member: ...

    def count(self) -> int: ...

    def add(self, member: Member) -> Member: ...

    def save(self, member: Member) -> Member: ...

    def remove(self, member: Member) -> None: ...


class TaskRepo(Protocol):
    """Tasks: the database's ``SqlTaskRepo`` and the layers of the task chain over it.
    ``save`` with ``from_status`` is a compare-and-swap on the status (``StaleState``)."""

    def get(self, task_id: str) -> Task: ...

    def list(self, query: TaskQuery) -> list[Task]: ...

    def list_for_image(self, image_id: str) -> builtins.list[Task]: ...

    def add(self, task: Task) -> Task: ...

    def save(self, task: Task, from_status: str | None = None) -> Task: ...
