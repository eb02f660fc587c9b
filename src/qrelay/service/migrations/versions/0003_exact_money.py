"""Money in whole micro-units: balances, costs and estimates become exact integers.

Each float column is replaced by an integer column of micro-units (one millionth of the
unit of ``price_per_shot``), its value rounded to the nearest micro-unit, so amounts
stored before add up exactly from now on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Float column -> micro-unit column, per table.
_MONEY = {
    "users": {"balance": "balance_micros"},
    "jobs": {"cost": "cost_micros", "estimate": "estimate_micros"},
}


def upgrade() -> None:
    for table, columns in _MONEY.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for micros in columns.values():
                batch_op.add_column(
                    sa.Column(micros, sa.BigInteger(), server_default="0", nullable=False)
                )
        assignments = ", ".join(
            f"{micros} = CAST(ROUND({old} * 1000000) AS BIGINT)" for old, micros in columns.items()
        )
        op.execute(f"UPDATE {table} SET {assignments}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old in columns:
                batch_op.drop_column(old)


def downgrade() -> None:
    for table, columns in _MONEY.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for old in columns:
                batch_op.add_column(sa.Column(old, sa.Float(), server_default="0", nullable=False))
        assignments = ", ".join(f"{old} = {micros} / 1000000.0" for old, micros in columns.items())
        op.execute(f"UPDATE {table} SET {assignments}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            for micros in columns.values():
                batch_op.drop_column(micros)
            for old in columns:
                if old != "estimate":  # only the estimate had a server default before
                    batch_op.alter_column(old, server_default=None)
