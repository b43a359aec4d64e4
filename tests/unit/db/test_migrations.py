"""The Alembic migrations build exactly the schema ``imgreg.db.models`` declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from imgreg.db.metadefs import models as _metadef_models  # noqa: F401 (registers the tables)
from imgreg.db.models import Base


def test_migrations_match_the_models(clean_db):
    engine = create_engine(clean_db)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert context.get_current_revision() is not None
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
