"""Add image_locations.meta_data: each location's metadata (Glance's ``metadata`` object, as
JSON text), which names the store a copy is in when several stores are configured
(``{"store": "<id>"}``) and holds what a caller registered with a location.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.add_column("image_locations", sa.Column("meta_data", sa.Text()))
