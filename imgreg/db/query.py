"""The SQL a ``ListQuery`` (``imgreg.domain.query``) becomes. Every condition is index-backed;
nothing loads more rows than the page.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Select, and_, exists, false, or_, select, true, union
from sqlalchemy.sql.elements import ColumnElement

from imgreg.db.keyset import (
    after_marker,
    order_keys,
    seek_branches,
    sort_column,
    with_walk_hint,
)
from imgreg.db.loading import COLUMN_NAMES, IMAGE_COLUMNS
from imgreg.db.models import ImageRow, MemberRow
from imgreg.db.probes import Filter, driven, join_filters, matched
from imgreg.domain.query import COMPARISONS, ListQuery
from imgreg.domain.visibility import OPEN_VISIBILITIES, READABLE, Grant


def _owned_by(project_id: str | None) -> ColumnElement[bool]:
    """The caller's own images: none for a caller without a project (its missing project is
    no owner, neither ``NULL`` nor ``""``)."""
    return ImageRow.owner == project_id if project_id else false()


def _membership(project_id: str | None, member_status: str) -> ColumnElement[bool]:
    """Images shared with the caller's project; none for a caller without one."""
    if not project_id:
        return false()
    cond = and_(
        MemberRow.image_id == ImageRow.id,
        MemberRow.member == project_id,
        MemberRow.deleted == false(),
    )
    if member_status != "all":
        cond = and_(cond, MemberRow.status == member_status)
    return exists().where(cond)


class Scope(NamedTuple):
    """One branch of a list's visibility scope. A ``walk`` goes down an index in the list's
    order (for a page after a marker, one walk a ``seek_branches`` range); a lookup finds few
    rows through an index of its own (the caller's project, its memberships), which are then
    sorted: the marker's plain OR filters them, so no walk of another index is planned."""

    condition: ColumnElement[bool]
    walk: bool
    visibility: str | None = None  # the condition is ``visibility = this``


def scope_branches(q: ListQuery) -> list[Scope]:
    """The images ``q``'s caller lists under its visibility filter, as an OR of branches.

    A member's list (no filter, ``all`` or ``shared``) is public images, its project's own, and
    those shared with it: one OR of the three is no index range, and the shared part was a walk
    of every shared image checking membership. Apart, each is one: the public images walk the
    sort index (or ``ix_images_list_visibility``), the project's own are looked up
    by ``(owner, visibility)``, the shared ones from ``image_members`` by member (migration
    0014).
    """
    vis = ImageRow.visibility
    if q.visibility in ("public", "community") or (q.is_admin and q.visibility is not None):
        if q.visibility == "all":
            return [Scope(true(), walk=True)]
        return [Scope(vis == q.visibility, walk=True, visibility=q.visibility)]
    if q.is_admin:
        return [Scope(or_(vis != "community", _owned_by(q.project_id)), walk=True)]
    own = _owned_by(q.project_id)
    if q.visibility == "private":
        return [Scope(and_(vis == "private", own), walk=False)]
    mine = []
    if q.project_id:
        member = ImageRow.id.in_(_member_images(q.project_id, q.member_status))
        mine = [Scope(own, walk=False), Scope(and_(vis == "shared", member), walk=False)]
    if q.visibility == "shared":
        shared = [Scope(and_(vis == "shared", c), walk=False) for c, _walk, _vis in mine]
        return shared or [Scope(false(), walk=False)]
    if q.visibility == "all":
        return [Scope(vis.in_(OPEN_VISIBILITIES), walk=True), *mine]
    return [Scope(vis == "public", walk=True, visibility="public"), *mine]


def _member_images(project_id: str, member_status: str) -> Select[Any]:
    """The ids of the images shared with ``project_id`` (answered ``member_status``)."""
    stmt = select(MemberRow.image_id).where(
        MemberRow.member == project_id, MemberRow.deleted == false()
    )
    if member_status != "all":
        stmt = stmt.where(MemberRow.status == member_status)
    return stmt


def grant_clause(grant: Grant, project_id: str | None, is_admin: bool) -> ColumnElement[bool]:
    """One grant of ``imgreg.domain.visibility`` as SQL."""
    if grant is Grant.ADMIN:
        return true() if is_admin else false()
    if grant is Grant.UNOWNED:
        return ImageRow.owner.is_(None)
    if grant is Grant.OPEN:
        return ImageRow.visibility.in_(OPEN_VISIBILITIES)
    if grant is Grant.OWNER:
        return _owned_by(project_id)
    if grant is Grant.MEMBER:
        return and_(ImageRow.visibility == "shared", _membership(project_id, "all"))
    raise AssertionError(f"no SQL for {grant}")


def readable_clause(project_id: str | None, is_admin: bool) -> ColumnElement[bool]:
    """Images the caller may ``GET`` (``imgreg.domain.visibility.READABLE``, the rule the
    authorization layer checks), whatever the list's visibility filter: a marker must be one of
    them."""
    if is_admin:
        return true()
    return or_(*(grant_clause(g, project_id, is_admin) for g in READABLE))


STATEMENT_CACHE_SIZE = 512
_first_pages: dict[str, Select[ImageRow]] = {}


def build_select(
    q: ListQuery, marker: Any = None, *, branched: bool = True, driver: Filter | None = None
) -> Select[ImageRow]:
    """The statement for one page of ``q``. First pages (no marker) repeat: the same clients
    ask for the same lists again and again, and building the statement cost more CPU than
    SQLite took to run it, so each is built once (a statement is immutable: threads share it)
    and kept among the last ``STATEMENT_CACHE_SIZE`` distinct queries.

    ``branched``: split the list into the UNION of index walks and lookups (``_build_select``),
    for PostgreSQL and MariaDB. SQLite (``branched=False``) gets the one SELECT with ORs, whose
    plan walks the order's index without a temporary B-tree; its figures are tools/bench's.

    ``driver``: a tag or property filter of ``q`` that few images match
    (``imgreg.db.probes.rare_filter``): the list is looked up through its index instead of
    walked in order (branched only)."""
    if marker is not None:
        return _build_select(q, marker, branched, driver)
    key = f"{branched} {driver!r} {q!r}"
    stmt = _first_pages.get(key)
    if stmt is None:
        stmt = _build_select(q, None, branched, driver)
        if len(_first_pages) >= STATEMENT_CACHE_SIZE:
            _first_pages.clear()
        _first_pages[key] = stmt
    return stmt


def _build_select(
    q: ListQuery, marker: Any, branched: bool, driver: Filter | None
) -> Select[ImageRow]:
    """One SELECT when one index range serves the page; else the UNION of one page from each
    pair of a ``scope_branches`` and a ``seek_branches`` branch (each an index walk or a small
    lookup), ordered and cut to the page again.

    With a ``driver`` (a rare tag) every branch is all of its images, unordered and uncut (at
    most ``probes.RARE``), and only the merged rows are sorted: a branch ordered and cut to
    the page let PostgreSQL walk the sort index probing the tag instead (56,211 rows for an
    admin's ``tag-rare`` at a million images); the ``OFFSET 0`` of a lone branch keeps it from
    being merged into the outer query, which would allow that walk again."""
    scopes = scope_branches(q)
    if driver is not None and branched:
        scopes = [scope._replace(walk=False) for scope in scopes]
    order = order_keys(q)
    seeks = [true()] if marker is None else seek_branches(q, marker)
    after = true() if marker is None else or_(*seeks)
    if not branched:
        scopes = [Scope(or_(*(scope.condition for scope in scopes)), walk=False)]
        after = true() if marker is None else after_marker(q, marker)
    pairs = [(scope, seek) for scope in scopes for seek in (seeks if scope.walk else [after])]
    hint = driver is None and not _indexed_filters(q) and (marker is not None or _filters(q))
    drive = driver is not None and branched
    if len(pairs) == 1 and not drive:
        stmt = _filtered(q, branched, driver).where(pairs[0][0].condition, pairs[0][1])
        stmt = _ordered(stmt, order, q.limit)
        if hint and pairs[0][0].walk:
            stmt = with_walk_hint(stmt, order, pairs[0][0].visibility)
        # the image columns only (what load_images reads), chosen here so that a cached
        # statement is executed as it is, with its cache key computed once
        return stmt.with_only_columns(*IMAGE_COLUMNS)
    extra = [sort_column(k) for k, _d in order if sort_column(k).name not in COLUMN_NAMES]
    parts = []
    for scope, seek in pairs:
        part = _filtered(q, branched, driver).where(scope.condition, seek)
        if not drive:
            part = _ordered(part, order, q.limit)
        if hint and scope.walk:
            part = with_walk_hint(part, order, scope.visibility)
        parts.append(part.with_only_columns(*IMAGE_COLUMNS, *extra).subquery())
    # scopes overlap (the caller's own public image is public too): UNION keeps each row once
    if len(parts) == 1:
        merged = select(*parts[0].c).offset(0).subquery()
    else:
        merged = union(*(select(*part.c) for part in parts)).subquery()
    outer = [
        merged.c[sort_column(k).name].desc() if d == "desc" else merged.c[sort_column(k).name]
        for k, d in order
    ]
    stmt = select(*(merged.c[name] for name in COLUMN_NAMES))
    return stmt.order_by(*outer).limit(q.limit)


def _filters(q: ListQuery) -> bool:
    """Whether ``q`` filters beyond its scope."""
    return bool(q.exact or q.ranges or q.tags or q.properties)


# Filters with an index of their own (``images`` columns), which may serve a list better than
# a walk of its order's index: with one of them MariaDB is left to choose.
INDEXED_FILTERS = frozenset({"id", "name", "owner", "status", "checksum", "os_hash_value"})


def _indexed_filters(q: ListQuery) -> bool:
    return any(name in INDEXED_FILTERS for name in q.exact)


def _filtered(q: ListQuery, branched: bool, driver: Filter | None) -> Select[ImageRow]:
    """Live images matching ``q``'s filters, in no particular scope or order. Branched
    (PostgreSQL, MariaDB), the tag and property filters are the ``driver``'s lookup and a probe
    per row for the others (``imgreg.db.probes``); SQLite gets plain EXISTS."""
    stmt = select(ImageRow).where(
        ImageRow.deleted == false(),
        ImageRow.status != "killed",
        ImageRow.os_hidden == (true() if q.os_hidden else false()),
    )
    for name, values in q.exact.items():
        col = getattr(ImageRow, name)
        stmt = stmt.where(col.in_(values) if len(values) > 1 else col == values[0])
    for name, op, value in q.ranges:
        stmt = stmt.where(COMPARISONS[op](getattr(ImageRow, name), value))
    for f in join_filters(q):
        stmt = stmt.where(driven(f) if f == driver else matched(f, per_row=branched))
    return stmt


def _ordered(stmt: Select[Any], order: list[tuple[str, str]], limit: int) -> Select[Any]:
    cols = [sort_column(k).desc() if d == "desc" else sort_column(k).asc() for k, d in order]
    return stmt.order_by(*cols).limit(limit)
