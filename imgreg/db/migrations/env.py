"""Alembic environment: runs imgreg's migrations against the URL imgreg-manage passes in."""

from alembic import context

from imgreg.db import tasks_models as _task_models  # noqa: F401 (registers the table)
from imgreg.db.metadefs import models as _metadef_models  # noqa: F401 (registers the tables)
from imgreg.db.models import Base
from imgreg.db.session import make_engine

config = context.config
engine = make_engine(config.attributes["url"])
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
