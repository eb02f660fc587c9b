"""After a fault: every accepted job is there once, each task ended once, balances add up."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from .procs import PRICE, TERMINAL


def audit(
    database_url: str,
    users: dict[str, httpx.Client],
    accepted: dict[str, list[str]],
    start_balance: float,
    price: float = PRICE,
) -> dict[str, int]:
    """Check the books; ``accepted`` maps a user token to the job ids it was given.

    Returns counts for the report: jobs, lost, duplicated, terminal transitions.
    """
    from sqlalchemy import create_engine, func, select

    from qrelay.service.db.tables import jobs, tasks, transitions

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = Counter(j for (j,) in conn.execute(select(jobs.c.id)))
            per_task = Counter(
                t
                for (t,) in conn.execute(
                    select(transitions.c.task_id).where(
                        transitions.c.to_status.in_(sorted(TERMINAL))
                    )
                )
            )
            task_count = conn.execute(select(func.count()).select_from(tasks)).scalar_one()
    finally:
        engine.dispose()
    everything = [j for ids in accepted.values() for j in ids]
    lost = [j for j in everything if j not in stored]
    duplicated = [j for j, n in stored.items() if n > 1] + [
        j for j, n in Counter(everything).items() if n > 1
    ]
    assert lost == [], f"accepted jobs missing from the database: {lost}"
    assert duplicated == [], f"duplicated jobs: {duplicated}"
    assert set(stored) == set(everything), "the database holds jobs nobody was given"
    twice = {t: n for t, n in per_task.items() if n > 1}
    assert twice == {}, f"tasks that ended more than once: {twice}"
    assert len(per_task) == task_count, "some task never ended"
    for token, ids in accepted.items():
        client = users[token]
        shots = 0
        for job_id in ids:
            data = client.get(f"/v1/jobs/{job_id}").json()
            assert set(data["statuses"]) <= TERMINAL, data
            results: dict[str, Any] = client.get(f"/v1/jobs/{job_id}/results").json()
            for status, rows in zip(results["statuses"], results["readouts"], strict=True):
                if status == "completed":
                    shots += sum(int(r["successful_shots"]) for r in rows or [])
                elif status == "cancelled":  # withheld: a cancelled circuit is not charged
                    assert rows is None, f"job {job_id}: a cancelled circuit gave its readout"
        balance = client.get("/v1/me/balance").json()["balance"]
        assert abs((start_balance - balance) - shots * price) < 1e-6, (
            f"charged {start_balance - balance}, successful shots {shots} x {price}"
        )
    return {"jobs": len(everything), "lost": len(lost), "duplicated": len(duplicated)}
