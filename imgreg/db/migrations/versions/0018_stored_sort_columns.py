"""MariaDB/MySQL: the generated sort columns of 0012 stored, not virtual.

MariaDB 10.11 gives wrong results from a virtual generated column that an index holds: a
query read through ``ref`` on the index's leading columns (``deleted, os_hidden``) with a
filesort by the column (``ORDER BY sort_name, id`` with another filter) dropped rows the WHERE
keeps (29 of 32 in ``tests/unit/db/test_mysql_generated_columns.py``) after the rows were
UPDATEd while another transaction that had written was open, a busy server's normal state
(found with another session loading a million images). A list's page after a marker of a
multi-key sort (``sort=container_format,size:asc``: ``sort_container_format = …`` and
``sort_size > …``, ordered) is that query, so paging skipped images, as
``test_list_sort_paging.py`` showed while another session loaded a catalog into the same
server. A stored column is read from the row like any other, and the same plans answer right.

MariaDB cannot turn a virtual column into a stored one in place (1907), so each is dropped
with its indexes and added again, stored, and the indexes made again: two rebuilds of
``images`` (minutes on a big catalog). PostgreSQL's columns are stored already (it has no
other kind before 18); SQLite's stay virtual (it cannot add a stored column, and its lists are
one SELECT per page that this does not concern).

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"

COLUMNS = (
    ("sort_name", "VARCHAR(255)", "coalesce(name, '')"),
    ("sort_container_format", "VARCHAR(32)", "coalesce(container_format, '')"),
    ("sort_disk_format", "VARCHAR(32)", "coalesce(disk_format, '')"),
    ("sort_size", "BIGINT", "coalesce(size, 0)"),
)
TIE_BREAKERS = "created_at, id"


def upgrade() -> None:
    if op.get_bind().dialect.name != "mysql":
        return
    dropped = ["DROP INDEX ix_images_list_visibility_sort_name"]
    added = []
    indexes = [
        "ADD INDEX ix_images_list_visibility_sort_name "
        f"(deleted, os_hidden, visibility, sort_name, {TIE_BREAKERS})"
    ]
    for name, kind, expression in COLUMNS:
        dropped += [f"DROP INDEX ix_images_list_{name}", f"DROP COLUMN {name}"]
        added.append(f"ADD COLUMN {name} {kind} AS ({expression}) STORED")
        indexes.append(
            f"ADD INDEX ix_images_list_{name} (deleted, os_hidden, {name}, {TIE_BREAKERS})"
        )
    op.execute("ALTER TABLE images " + ", ".join(dropped))
    op.execute("ALTER TABLE images " + ", ".join(added + indexes))
