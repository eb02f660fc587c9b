"""Jobs keep their estimated cost, so unfinished jobs hold back part of the balance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Jobs stored before this revision hold nothing back (estimate 0): they were paid for
    # under the old rule, which checked each submission against the balance alone.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimate", sa.Float(), server_default="0", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_jobs_user_id_status"), ["user_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_user_id_status"))
        batch_op.drop_column("estimate")
