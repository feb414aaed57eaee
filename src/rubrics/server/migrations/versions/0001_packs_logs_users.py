"""Packs stored as their files and log entries; users, API tokens, the audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "packs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pack_id", sa.String(200), nullable=False, unique=True),
        sa.Column("folder", sa.String(200), nullable=False, unique=True),
        sa.Column("role_id", sa.String(200), nullable=False, index=True),
        sa.Column("candidate", sa.JSON, nullable=False),
        sa.Column("manifest", sa.LargeBinary, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("head_entries", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        _when("created_at"),
    )
    op.create_table(
        "pack_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pack", sa.Integer, sa.ForeignKey("packs.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("pack", "path"),
    )
    op.create_table(
        "log_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pack", sa.Integer, sa.ForeignKey("packs.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("pack", "seq"),
        sa.UniqueConstraint("pack", "hash"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        _when("created_at"),
        _when("disabled_at", nullable=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        _when("last_used_at", nullable=True),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        _when("at"),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("pack", sa.Integer, sa.ForeignKey("packs.id"), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("audit_events", "api_tokens", "users", "log_entries", "pack_files", "packs"):
        op.drop_table(table)
