"""Initial schema: images, their properties, tags, locations and members.

Revision ID: 0001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("os_hidden", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("container_format", sa.String(32)),
        sa.Column("disk_format", sa.String(32)),
        sa.Column("min_disk", sa.Integer(), nullable=False),
        sa.Column("min_ram", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger()),
        sa.Column("virtual_size", sa.BigInteger()),
        sa.Column("checksum", sa.String(32)),
        sa.Column("os_hash_algo", sa.String(64)),
        sa.Column("os_hash_value", sa.String(128)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        **MYSQL,
    )
    op.create_index("ix_images_deleted_created_at_id", "images", ["deleted", "created_at", "id"])
    op.create_index("ix_images_owner", "images", ["owner"])
    op.create_index("ix_images_visibility", "images", ["visibility"])
    op.create_index("ix_images_status", "images", ["status"])
    op.create_index("ix_images_name", "images", ["name"])

    op.create_table(
        "image_properties",
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_image_properties_image_id_images"
        ),
        sa.PrimaryKeyConstraint("image_id", "name", name="pk_image_properties"),
        **MYSQL,
    )
    op.create_index("ix_image_properties_name", "image_properties", ["name"])

    op.create_table(
        "image_tags",
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"], name="fk_image_tags_image_id_images"),
        sa.PrimaryKeyConstraint("image_id", "value", name="pk_image_tags"),
        **MYSQL,
    )
    op.create_index("ix_image_tags_value", "image_tags", ["value"])

    op.create_table(
        "image_locations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_image_locations_image_id_images"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_image_locations"),
        **MYSQL,
    )
    op.create_index("ix_image_locations_image_id", "image_locations", ["image_id"])

    op.create_table(
        "image_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("member", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_image_members_image_id_images"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_image_members"),
        sa.UniqueConstraint("image_id", "member", name="uq_image_members_image_id_member"),
        **MYSQL,
    )
    op.create_index("ix_image_members_member", "image_members", ["member"])
