"""Interviewer links (token hash only), their drafts, and team settings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "interviewer_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pack", sa.Integer, sa.ForeignKey("packs.id", ondelete="RESTRICT"),
                  nullable=False, index=True),
        sa.Column("stage", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _when("created_at"),
        sa.Column("created_by", sa.String(320), nullable=False),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("link", sa.Integer,
                  sa.ForeignKey("interviewer_links.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("data", sa.Text, nullable=False),
        _when("saved_at"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("settings", "drafts", "interviewer_links"):
        op.drop_table(table)
