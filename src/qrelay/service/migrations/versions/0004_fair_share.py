"""Tasks carry a fair-share rank, so leases take turns across users within a priority.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tasks queued before this revision share rank 0: among themselves they are leased in
    # submission order, as before.
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("share", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_index("ix_tasks_queue")
        batch_op.create_index(
            "ix_tasks_queue", ["target", "status", "priority", "share", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_queue")
        batch_op.create_index(
            "ix_tasks_queue", ["target", "status", "priority", "id"], unique=False
        )
        batch_op.drop_column("share")
