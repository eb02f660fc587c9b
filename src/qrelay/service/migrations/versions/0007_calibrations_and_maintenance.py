"""Calibration history (every snapshot of every target, and the one each result ran
under), maintenance windows, and the traceparent a job's tasks continue.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("calibration_id", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibrations")),
        sa.UniqueConstraint(
            "target", "calibration_id", name=op.f("uq_calibrations_target_calibration_id")
        ),
    )
    op.create_index(op.f("ix_calibrations_target_taken_at"), "calibrations", ["target", "taken_at"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("calibration_id", sa.String(length=64), nullable=True))
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance")),
    )
    op.create_index(op.f("ix_maintenance_ends_at"), "maintenance", ["ends_at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place: recreating jobs (batch mode's way on SQLite)
    # would drop a table that tasks' foreign key points at.
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.drop_column("traceparent")
    op.drop_index(op.f("ix_maintenance_ends_at"), table_name="maintenance")
    op.drop_table("maintenance")
    with op.batch_alter_table("tasks", recreate="never") as batch:
        batch.drop_column("calibration_id")
    op.drop_index(op.f("ix_calibrations_target_taken_at"), table_name="calibrations")
    op.drop_table("calibrations")
