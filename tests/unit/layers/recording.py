"""A recording fake for the innermost end of a layer: every call is kept with its arguments,
and each operation returns what the test configured (a value, an exception to raise, or a
callable computing the answer) or a harmless default.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from imgreg.domain.factory import ImageFactory
from imgreg.domain.image import Image

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

    def upload(self, image: Image, stream: Any, size: int | None) -> Any:
        return self._call("upload", image, stream, size, default=image)

    def check_download(self, image: Image) -> Any:
        return self._call("check_download", image)

    def open_data(self, image: Image, offset: int = 0, length: int | None = None) -> Any:
        return self._call("open_data", image, offset, length)

    def discard_data(self, image: Image) -> Any:
        return self._call("discard_data", image)

    def member_status(self, image_id: str, member: str) -> Any:
        return self._call("member_status", image_id, member)

    def storage_used(self, owner: str | None) -> Any:
        return self._call("storage_used", owner, default=0)

    def reserve_storage(
        self, image_id: str, owner: str | None, needed: int, wanted: int, quota: int
    ) -> Any:
        return self._call("reserve_storage", image_id, owner, needed, wanted, quota)


class RecordingFactory(Recorder):
    """Stands in for ``ImageFactory``; by default builds the image a real factory would."""

    def __init__(self, **results: Any) -> None:
        super().__init__(**results)
        self.real: Callable[..., Image] = ImageFactory().new_image

    def new_image(self, owner: str | None, **kwargs: Any) -> Any:
        image = self._call("new_image", owner, default=_UNSET, **kwargs)
        return self.real(owner, **kwargs) if image is _UNSET else image
