"""Byte ranges of a download, as Glance reads them.

``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` (one range only; several → 400) and the
legacy request header ``Content-Range: bytes a-b/*``. The end is clamped to the data; a start
at or past the end, or a malformed value, is 416.
"""

from __future__ import annotations

import re

from imgreg.domain import errors

# At most 19 digits: any offset of a 63-bit size fits, and int() is never asked to parse
# thousands of digits (Python refuses more than 4300 with a ValueError).
RANGE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")
CONTENT_RANGE = re.compile(r"^bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)$")


def requested_range(
    range_header: str | None, content_range: str | None, size: int
) -> tuple[int, int] | None:
    """``(first, last)`` inclusive, or ``None`` for the whole data."""
    if range_header:
        value = range_header.strip()
        if "," in value:
            raise errors.Invalid("Multiple ranges are not supported.")
        match = RANGE.match(value)
        if match is None or match.groups() == ("", ""):
            raise errors.RangeNotSatisfiable(size)
        first_text, last_text = match.groups()
        if first_text == "":
            length = int(last_text)
            if length == 0:
                raise errors.RangeNotSatisfiable(size)
            return max(0, size - length), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    elif content_range:
        match = CONTENT_RANGE.match(content_range.strip())
        if match is None:
            raise errors.RangeNotSatisfiable(size)
        first, last = int(match.group(1)), int(match.group(2))
    else:
        return None
    if first > last or first >= size:
        raise errors.RangeNotSatisfiable(size)
    return first, min(last, size - 1)
