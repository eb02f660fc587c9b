"""Partial indexes: the queue and the leases hold only the tasks still going, so leasing,
fair-share ranks, queue positions and the reclaim of expired leases read none of the
finished history; a target's completed tasks are indexed newest first for its measured
time per task. They replace the queue and lease-expiry indexes over every task.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The statuses as of this revision, sorted as the queries name them
# (``qrelay.service.db.tables.one_of``).
_QUEUED = "status IN ('awaiting_compile', 'awaiting_simulation', 'awaiting_submission')"
_ACTIVE = "status IN ('compiling', 'pending', 'running', 'simulating')"
_COMPLETED = "status IN ('completed')"

_INDEXES = (
    ("ix_tasks_queued", "tasks", ["target", "priority", "share", "id"], _QUEUED),
    ("ix_tasks_leased", "tasks", ["lease_expires_at"], _ACTIVE),
    ("ix_tasks_completed", "tasks", ["target", "id"], _COMPLETED),
)


def upgrade() -> None:
    for name, table, columns, where in _INDEXES:
        condition = sa.text(where)
        op.create_index(name, table, columns, sqlite_where=condition, postgresql_where=condition)
    op.drop_index("ix_tasks_queue", table_name="tasks")
    op.drop_index("ix_tasks_lease_expiry", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_lease_expiry", "tasks", ["lease_expires_at"])
    op.create_index("ix_tasks_queue", "tasks", ["target", "status", "priority", "share", "id"])
    for name, table, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
