"""MariaDB/MySQL: compare every string exactly, as PostgreSQL and SQLite do.

The tables were made in the server's default collation for utf8mb4, ``utf8mb4_general_ci``,
which folds case and accents and pads with spaces: ``FOO``, ``föo`` and ``foo `` were all
``foo`` to every comparison, unique key and list filter (a project ``ProjA`` listed the
private images of ``proja``; a property ``FOO`` beside ``foo`` broke the primary key). Every
table, hence every string column, now uses a binary collation that does not pad:
``utf8mb4_nopad_bin`` on MariaDB (``utf8mb4_bin`` is PAD SPACE there: ``'foo' = 'foo '``),
``utf8mb4_0900_bin`` on MySQL 8, which has no ``nopad_bin``. The database's default becomes the
same, so that a table a later migration makes with no charset of its own gets it too (one made
with ``mysql_charset="utf8mb4"`` alone gets that charset's default, ``utf8mb4_general_ci``,
back: name the collation too; ``tests/unit/db/test_mysql_collation.py`` checks every table).

Going from a case-insensitive collation to a binary one only splits keys that were equal, so
no row can collide. InnoDB refuses to change the collation of a column a foreign key joins
(1833, whatever ``foreign_key_checks`` says), so the foreign keys are dropped first and made
again afterwards, as they were. SQLite and PostgreSQL (deterministic collations) already
compare exactly: nothing to do.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

MARIADB_COLLATION = "utf8mb4_nopad_bin"
MYSQL_COLLATION = "utf8mb4_0900_bin"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return
    mariadb = getattr(bind.dialect, "is_mariadb", False)
    collation = MARIADB_COLLATION if mariadb else MYSQL_COLLATION
    inspector = sa.inspect(bind)
    tables = inspector.get_table_names()
    foreign_keys = {table: inspector.get_foreign_keys(table) for table in tables}
    for table, keys in foreign_keys.items():
        for key in keys:
            op.drop_constraint(str(key["name"]), table, type_="foreignkey")
    op.execute(f"ALTER DATABASE CHARACTER SET utf8mb4 COLLATE {collation}")
    for table in tables:
        op.execute(f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")
    for table, keys in foreign_keys.items():
        for key in keys:
            op.create_foreign_key(
                key["name"],
                table,
                key["referred_table"],
                key["constrained_columns"],
                key["referred_columns"],
            )
