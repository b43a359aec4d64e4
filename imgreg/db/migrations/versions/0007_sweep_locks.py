"""Sweep locks: the ``sweep_locks`` table, one row per cluster-wide periodic job.

The reaper (``imgreg.maintenance.recovery``) runs periodically in every server process; a row here
makes sure that one process at a time, across every node on the database, runs it: a process takes
the row with a conditional UPDATE (``holder``, ``expires_at``: held while it sweeps, a lease that a
killed holder lets run out) and, when done, releases it with ``swept_at``, so the next sweep
anywhere waits a period. A plain row, not GET_LOCK or advisory locks, which are local to one node on
Galera.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# to the microsecond (MariaDB's DATETIME keeps whole seconds): a period may be under a second
TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    table = op.create_table(
        "sweep_locks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255)),
        sa.Column("expires_at", TIME),
        sa.Column("swept_at", TIME),
        sa.PrimaryKeyConstraint("name", name="pk_sweep_locks"),
    )
    op.bulk_insert(table, [{"name": "reaper"}])
