"""Recording fakes for the innermost end of a layer: every call is kept with its arguments,
and each operation returns what the test configured (a value, an exception to raise, or a
callable computing the answer) or a harmless default.

``RecordingRepo`` stands in for either end of an upload: asked ``begin_upload(image, terms)``
(an ``ImageRepo``, under a layer) it returns a ``RecordingSession``; asked
``begin_upload(image)`` (the ``RecordRepo`` under the location layer) a ``RecordingLedger``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

from imgreg.domain import errors
from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import Image
from imgreg.store import StoredBlob

_UNSET = object()


@dataclasses.dataclass
class Call:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    images: list[Image]  # deep copies of the Image arguments, as they were at call time


class Recorder:
    def __init__(self, **results: Any) -> None:
        self.calls: list[Call] = []
        self.results = results

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def only(self, name: str) -> Call:
        """The one call of ``name`` (fails when there were none or several)."""
        found = [c for c in self.calls if c.name == name]
        assert len(found) == 1, f"expected one {name} call, got {self.names()}"
        return found[0]

    def _call(self, op: str, /, *args: Any, default: Any = None, **kwargs: Any) -> Any:
        images = [copy.deepcopy(a) for a in args if isinstance(a, Image)]
        self.calls.append(Call(op, args, kwargs, images))
        result = self.results.get(op, _UNSET)
        if result is _UNSET:
            return default
        if isinstance(result, BaseException):
            raise result
        if callable(result) and not isinstance(result, Image):
            return result(*args, **kwargs)
        return result


class RecordingRepo(Recorder):
    """Stands in for ``SqlImageRepo`` (or any inner layer)."""

    def get(self, image_id: str) -> Any:
        return self._call("get", image_id)

    def list(self, query: Any) -> Any:
        return self._call("list", query, default=[])

    def add(self, image: Image, max_images: int | None = None) -> Any:
        return self._call("add", image, max_images=max_images, default=image)

    def save(self, image: Image, from_state: str | None = None) -> Any:
        return self._call("save", image, from_state=from_state, default=image)

    def remove(self, image: Image) -> Any:
        return self._call("remove", image)

    def begin_upload(self, image: Image, *terms: Any) -> Any:
        default = RecordingSession(image) if terms else RecordingLedger(image)
        return self._call("begin_upload", image, *terms, default=default)

    def check_download(self, image: Image) -> Any:
        return self._call("check_download", image)

    def open_data(
        self, image: Image, offset: int = 0, length: int | None = None, prefer: Any = ()
    ) -> Any:
        return self._call("open_data", image, offset, length)

    def member_status(self, image_id: str, member: str) -> Any:
        """The ``MemberLookup`` the chain is built with (``build_image_repo``)."""
        return self._call("member_status", image_id, member)


class RecordingSession(Recorder):
    """Stands in for the ``UploadSession`` an inner layer returns: by default ``write`` reads
    nothing and changes nothing, ``commit`` returns the image and ``abort`` restores none."""

    def __init__(self, image: Image, **results: Any) -> None:
        super().__init__(**results)
        self.image = image

    def write(self, stream: Any, size: int | None) -> Any:
        return self._call("write", stream, size, default=self.image)

    def renew(self) -> Any:
        return self._call("renew")

    def adopt(self) -> Any:
        return self._call("adopt", default=self.image)

    def commit(self) -> Any:
        return self._call("commit", default=self.image)

    def abort(self) -> Any:
        return self._call("abort")


class RecordingLedger(Recorder):
    """Stands in for the database's ``UploadLedger`` (``SqlUploadLedger``): by default the
    lease renews, any reservation is granted whole, ``commit`` returns the image it is given
    and ``abort`` restores none."""

    def __init__(self, image: Image, carried: int = 0, **results: Any) -> None:
        super().__init__(**results)
        self.image = image
        self.carried = carried

    def renew(self) -> Any:
        return self._call("renew")

    def reserve(self, needed: int, wanted: int, quota: int) -> Any:
        return self._call("reserve", needed, wanted, quota, default=(wanted, quota))

    def commit(self, image: Image) -> Any:
        return self._call("commit", image, default=image)

    def abort(self) -> Any:
        return self._call("abort")


class RecordingFactory(Recorder):
    """Stands in for ``ImageFactory``; by default builds the image a real factory would."""

    def __init__(self, **results: Any) -> None:
        super().__init__(**results)
        self.real: Callable[..., Image] = ImageFactory().new_image

    def new_image(self, owner: str | None, **kwargs: Any) -> Any:
        image = self._call("new_image", owner, default=_UNSET, **kwargs)
        return self.real(owner, **kwargs) if image is _UNSET else image


class MemoryStore:
    """A ``Store`` in a dict: ``add`` reads the stream to its end (in ``block`` bytes) and
    keeps what it read; ``added`` and ``deleted`` are the image ids and URLs, in order."""

    def __init__(self, block: int = 4096) -> None:
        self.block = block
        self.blobs: dict[str, bytes] = {}
        self.added: list[str] = []
        self.deleted: list[str] = []

    def add(self, image_id: str, stream: Any, expected_size: int | None, hash_algo: str) -> Any:
        self.added.append(image_id)
        data = b"".join(iter(lambda: stream.read(self.block), b""))
        url = f"memory://{image_id}"
        self.blobs[url] = data
        return StoredBlob(
            url=url,
            size=len(data),
            checksum=hashlib.md5(data).hexdigest(),
            hash_algo=hash_algo,
            hash_value=hashlib.new(hash_algo, data).hexdigest(),
            crc32=zlib.crc32(data),
        )

    def blob_id(self, url: str) -> str:
        if not url.startswith("memory://"):
            raise errors.NotFound("Image data not found")
        return url[len("memory://") :]

    def delete(self, url: str) -> None:
        self.deleted.append(url)
        self.blobs.pop(url, None)
