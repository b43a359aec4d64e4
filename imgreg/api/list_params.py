"""The query-string grammar of ``GET /v2/images`` (Glance's §2.5 filters, §2.6 sort and paging).

``parse_list_query(pairs, …)`` turns the request's ``(key, value)`` pairs into a validated
``ListQuery``; each small function below parses one family of parameters and raises
``errors.Invalid`` (400) for anything Glance refuses. A repeated parameter keeps its last value,
except ``tag`` (all of them, AND) and ``sort_key``/``sort_dir`` (in order).

Values of ``name``, ``id``, ``status``, ``container_format`` and ``disk_format`` may carry an
operator: ``eq:x`` or ``in:a,b,"c, d"``; a plain value containing ``:`` is read as
``operator:operand`` (so ``name=ubuntu:22.04`` is refused and must be ``eq:ubuntu:22.04``).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Iterable

from imgreg.domain import errors
from imgreg.domain.factory import normalize_id
from imgreg.domain.query import COLUMN_FILTERS, LISTABLE_COLUMNS, SORT_KEYS, ListQuery

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in")
TIME_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte")
TIME_COLUMNS = ("created_at", "updated_at")
VISIBILITIES = ("public", "private", "shared", "community", "all")
MEMBER_STATUSES = ("accepted", "pending", "rejected", "all")
SORT_DIRS = ("asc", "desc")
DEFAULT_SORT = ("created_at", "desc")
TIE_BREAKERS = ("created_at", "id")
# Keys that are not a column/property filter.
SPECIAL = frozenset(
    {
        "limit",
        "marker",
        "sort",
        "sort_key",
        "sort_dir",
        "tag",
        "visibility",
        "member_status",
        "os_hidden",
        "protected",
        "size_min",
        "size_max",
        "changes-since",
        *TIME_COLUMNS,
        *LISTABLE_COLUMNS,
    }
)


def parse_list_query(
    pairs: Iterable[tuple[str, str]], default_limit: int, max_limit: int
) -> ListQuery:
    """The whole query string → ``ListQuery`` (not yet scoped to a caller)."""
    pairs = list(pairs)
    if any("\x00" in key or "\x00" in value for key, value in pairs):
        raise errors.Invalid("Query parameters must not contain NUL characters.")
    last = dict(pairs)  # a repeated parameter: the last value wins
    if "changes-since" in last:
        raise errors.Invalid('The "changes-since" filter is no longer available on v2.')
    query = ListQuery(
        project_id=None,
        is_admin=False,
        limit=parse_limit(last.get("limit"), default_limit, max_limit),
        marker_id=parse_marker(last["marker"]) if "marker" in last else None,
        sort=parse_sort(pairs),
        visibility=parse_choice("visibility", last.get("visibility"), VISIBILITIES),
        member_status=parse_choice("member_status", last.get("member_status"), MEMBER_STATUSES)
        or "accepted",
        # Glance lowercases os_hidden (openstacksdk sends ``os_hidden=True``), not protected
        os_hidden=parse_bool("os_hidden", last.get("os_hidden", "false").lower()),
        tags=[value for key, value in pairs if key == "tag"],
    )
    for key in LISTABLE_COLUMNS:
        if key in last:
            query.exact[key] = parse_field_filter(key, last[key])
    if "protected" in last:
        query.exact["protected"] = [parse_bool("protected", last["protected"])]
    for key in TIME_COLUMNS:
        if key in last:
            query.ranges.append((key, *parse_time_filter(key, last[key])))
    if "size_min" in last:
        query.ranges.append(("size", "gte", parse_int("size_min", last["size_min"])))
    if "size_max" in last:
        query.ranges.append(("size", "lte", parse_int("size_max", last["size_max"])))
    for key, value in last.items():
        if key in SPECIAL:
            continue
        if key in COLUMN_FILTERS:
            typed = parse_int(key, value) if COLUMN_FILTERS[key] is int else value
            query.exact[key] = [typed]
        else:
            query.properties[key] = value
    return query


def page_link(pairs: list[tuple[str, str]], marker: str | None = None) -> str:
    """``first`` (no marker) or ``next`` (this marker): the request's other parameters kept."""
    params = [(k, v) for k, v in pairs if k != "marker"]
    if marker is not None:
        params.append(("marker", marker))
    return "/v2/images" + (f"?{urllib.parse.urlencode(params)}" if params else "")


def parse_limit(text: str | None, default: int, maximum: int) -> int:
    if text is None:
        return min(default, maximum)
    try:
        limit = int(text)
    except ValueError:
        raise errors.Invalid("limit param must be an integer") from None
    if limit < 0:
        raise errors.Invalid("limit param must be positive")
    return min(limit, maximum)


def parse_marker(marker: str) -> str:
    try:
        return normalize_id(marker)
    except errors.NotFound:
        raise errors.Invalid(f"Invalid marker {marker!r}") from None


def parse_choice(name: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is not None and value not in choices:
        raise errors.Invalid(
            f"Invalid {name} value: {value}. It must be one of: {', '.join(choices)}."
        )
    return value


def parse_bool(name: str, value: str) -> bool:
    """Exactly ``true`` or ``false`` (Glance refuses ``1``, ``yes``; ``True`` for protected)."""
    if value not in ("true", "false"):
        raise errors.Invalid(f"Invalid value for {name}: {value!r}; use 'true' or 'false'.")
    return value == "true"


def parse_int(name: str, value: str) -> int:
    """A decimal integer that fits the BIGINT columns it is compared with."""
    try:
        number = int(value)
    except ValueError:
        raise errors.Invalid(f"Invalid value for {name}: {value!r}; not an integer.") from None
    if not -(2**63) <= number < 2**63:
        raise errors.Invalid(f"Invalid value for {name}: {value!r}; out of range.")
    return number


def split_operator(value: str) -> tuple[str, str]:
    """``"gt:x"`` → ``("gt", "x")``; a value without ``:`` is ``("eq", value)``."""
    op, sep, operand = value.partition(":")
    if not sep:
        return "eq", value
    if op not in OPERATORS:
        raise errors.Invalid(f"Unable to filter by unknown operator '{op}'.")
    return op, operand


def parse_field_filter(name: str, value: str) -> list[str]:
    """The values a ``name``/``id``/``status``/``…_format`` filter accepts (``eq`` or ``in``)."""
    op, operand = split_operator(value)
    if op == "eq":
        return [operand]
    if op == "in":
        return split_in_list(operand)
    raise errors.Invalid(f"Unable to filter by operator '{op}' on {name}; use 'eq' or 'in'.")


def split_in_list(text: str) -> list[str]:
    """``a,b,"c, d"`` → ``["a", "b", "c, d"]``. A quoted item may hold commas and ``\\"``;
    a quote must open an item and be followed by a comma or the end."""
    items: list[str] = []
    i = 0
    while True:
        if text.startswith('"', i):
            item, i = _quoted(text, i + 1)
            if i < len(text) and text[i] != ",":
                raise errors.Invalid(f"Invalid filter value {text}: no comma after the quote.")
        else:
            end = text.find(",", i)
            end = len(text) if end < 0 else end
            item = text[i:end]
            if '"' in item:
                raise errors.Invalid(f"Invalid filter value {text}: no comma before the quote.")
            i = end
        items.append(item)
        if i >= len(text):
            return items
        i += 1  # the comma


def _quoted(text: str, i: int) -> tuple[str, int]:
    """The quoted item starting after its opening quote at ``i``; returns it and the index
    just past its closing quote."""
    chars: list[str] = []
    while i < len(text):
        if text.startswith('\\"', i):
            chars.append('"')
            i += 2
        elif text[i] == '"':
            return "".join(chars), i + 1
        else:
            chars.append(text[i])
            i += 1
    raise errors.Invalid(f"Invalid filter value {text}: the quote is not closed.")


def parse_time_filter(name: str, value: str) -> tuple[str, dt.datetime]:
    """``[op:]<ISO 8601>`` → (op, naive UTC datetime). A bare time (which has colons of its
    own) means ``eq``."""
    when = _parse_time(value)
    if when is not None:
        return "eq", when
    op, operand = split_operator(value)
    if op not in TIME_OPERATORS:
        raise errors.Invalid(f"Unable to filter by operator '{op}' on {name}.")
    when = _parse_time(operand)
    if when is None:
        raise errors.Invalid(f"Invalid date format for {name}: {operand!r}; use ISO 8601.")
    return op, when


def _parse_time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when


def parse_sort(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Both syntaxes → ``[(key, dir), …]``, tie-breakers appended."""
    keys = [v.strip() for k, v in pairs if k == "sort_key"]
    dirs = [v.strip() for k, v in pairs if k == "sort_dir"]
    new = [v for k, v in pairs if k == "sort"]
    if new and (keys or dirs):
        raise errors.Invalid("Old and new sorting syntax cannot be combined")
    if new:
        sort = parse_new_sort(new[-1])
        given = [d for _k, d in sort]
    else:
        sort = parse_old_sort(keys, dirs)
        given = dirs
    return with_tie_breakers(sort, given[0] if len(given) == 1 else DEFAULT_SORT[1])


def parse_new_sort(text: str) -> list[tuple[str, str]]:
    """``name:asc,size`` → ``[("name", "asc"), ("size", "desc")]``."""
    sort = []
    for part in text.strip().split(","):
        key, _sep, direction = part.partition(":")
        sort.append((check_sort_key(key.strip()), check_sort_dir(direction.strip() or "desc")))
    return sort


def parse_old_sort(keys: list[str], dirs: list[str]) -> list[tuple[str, str]]:
    """``sort_key`` (repeatable) with one ``sort_dir`` for all, or one per key."""
    for key in keys:
        check_sort_key(key)
    for direction in dirs:
        check_sort_dir(direction)
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise errors.Invalid("Number of sort dirs does not match the number of sort keys")
    keys = keys or [DEFAULT_SORT[0]]
    if len(dirs) <= 1:
        dirs = [dirs[0] if dirs else DEFAULT_SORT[1]] * len(keys)
    return list(zip(keys, dirs, strict=True))


def with_tie_breakers(sort: list[tuple[str, str]], direction: str) -> list[tuple[str, str]]:
    """Drop repeated keys (the first counts), then append ``created_at`` and ``id`` unless
    present, so the order is total. Like Glance's DB API, the tie-breakers go in the one
    direction the request gave (one ``sort_dir``, or one key in ``sort=``), else ``desc``."""
    unique: dict[str, str] = {}
    for key, key_dir in sort:
        unique.setdefault(key, key_dir)
    for key in TIE_BREAKERS:
        unique.setdefault(key, direction)
    return list(unique.items())


def check_sort_key(key: str) -> str:
    if key not in SORT_KEYS:
        raise errors.Invalid(
            f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_KEYS)}."
        )
    return key


def check_sort_dir(direction: str) -> str:
    if direction not in SORT_DIRS:
        raise errors.Invalid(f"Invalid sort direction: {direction}")
    return direction
