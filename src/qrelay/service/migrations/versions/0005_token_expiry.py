"""User and worker tokens may carry an expiry time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tokens issued before this revision do not expire (NULL), as before.
    for table in ("users", "workers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in ("users", "workers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("token_expires_at")
