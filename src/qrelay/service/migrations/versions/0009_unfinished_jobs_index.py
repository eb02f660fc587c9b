"""A partial index of each user's unfinished jobs: a submission's room check counts them
among the few jobs still going, not among the user's whole history.

The index on ``(user_id, status)`` served that count on SQLite, but PostgreSQL used it
for ``user_id`` alone and filtered the statuses row by row: with 6,000 jobs of one user
stored, each submission read all of them, while it held the user's row lock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The unfinished statuses as of this revision, sorted as the queries name them
# (``qrelay.service.db.tables.one_of``).
_UNFINISHED = (
    "status IN ('awaiting_compile', 'awaiting_simulation', 'awaiting_submission', "
    "'compiling', 'pending', 'received', 'running', 'simulating', 'unrecognized')"
)


def upgrade() -> None:
    condition = sa.text(_UNFINISHED)
    op.create_index(
        "ix_jobs_unfinished",
        "jobs",
        ["user_id"],
        sqlite_where=condition,
        postgresql_where=condition,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_unfinished", table_name="jobs")
