"""``[database]``: where the image records are kept."""

from __future__ import annotations

from oslo_config import cfg

database_opts = [
    cfg.StrOpt(
        "connection",
        default="sqlite:///$state_path/imgreg.sqlite",
        secret=True,
        help="SQLAlchemy URL of the database: the SQLite file under state_path by default; "
        "for several workers or nodes, PostgreSQL (postgresql+psycopg://imgreg@host/imgreg) "
        "or MariaDB/MySQL (mysql+pymysql://imgreg@host/imgreg?charset=utf8mb4).",
    ),
]
