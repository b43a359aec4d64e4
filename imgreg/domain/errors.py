"""Domain errors. Layers and stores raise only these; ``imgreg.api.errors`` maps them to HTTP.

Each class says what went wrong in the domain's terms; the message is shown to the user, so it
never carries store paths, SQL or credentials.
"""

from __future__ import annotations


class ImgregError(Exception):
    """Base of every error a client may see. ``message`` is safe to show."""

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class Invalid(ImgregError):
    """The request is malformed or breaks a rule of the API (400)."""


class NotFound(ImgregError):
    """The thing does not exist or the caller may not know that it exists (404)."""


class NoData(NotFound):
    """The image has no data (yet) to read; a download answers it with 204, no error."""


class Forbidden(ImgregError):
    """The caller is known and may see the thing, but may not do this (403)."""


class ReadOnlyProperty(Forbidden):
    def __init__(self, name: str) -> None:
        super().__init__(f"Attribute '{name}' is read-only.")


class ReservedProperty(Forbidden):
    def __init__(self, name: str) -> None:
        super().__init__(f"Attribute '{name}' is reserved.")


class Conflict(ImgregError):
    """The resource is not in a state that allows this (409)."""


class InvalidTransition(Conflict):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"Image status transition from {current} to {target} is not allowed")


class StaleState(Conflict):
    """A guarded save found the row in another status than expected (a race was lost)."""


class PreconditionFailed(ImgregError):
    """A precondition of the request (``If-Match``) does not hold: the image changed since
    the version the client names; nothing was changed (412)."""


class Gone(ImgregError):
    """The image went away while we worked on it (410)."""


class QuotaExceeded(ImgregError):
    """A size, storage or count limit would be exceeded (413)."""


class RequestTooLarge(ImgregError):
    """The request itself (not the image data) is larger than the server accepts (413)."""


class ServiceUnavailable(ImgregError):
    """A backend the request needs (the database) cannot be reached; retrying later may
    succeed (503). Nothing was changed."""


class UnsupportedMediaType(ImgregError):
    """The request body's media type or content is not acceptable (415)."""


class RangeNotSatisfiable(ImgregError):
    """The requested byte range lies outside the data (416)."""

    def __init__(self, size: int) -> None:
        super().__init__(
            "The requested range is not satisfiable.", headers={"Content-Range": f"bytes */{size}"}
        )


class StoreError(ImgregError):
    """The image store failed; the message is generic on purpose (503)."""


class StoreFull(QuotaExceeded):
    """The image store has no room left (413, as Glance answers)."""
