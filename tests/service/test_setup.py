"""Migrations match the tables; bootstrap, CLI and the catalog; prices, 402 and charges."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, select

from qrelay.errors import ConfigurationError, RateLimitedError
from qrelay.payload import NewJob
from qrelay.runtime import Client
from qrelay.service import bootstrap
from qrelay.service.catalog import Catalog, load_targets
from qrelay.service.db.migrate import (
    HEAD_REVISION,
    alembic_config,
    current_revision,
    upgrade,
)
from qrelay.service.db.tables import jobs, metadata, users

from .support import Live, completed, database, new_job, start


def test_migrations_match_the_tables(db_url: str) -> None:
    bootstrap.ensure_admin(db_url, "tok-" + uuid.uuid4().hex)  # migrates a fresh database
    engine = create_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    engine.dispose()
    assert diff == []


def test_head_revision_is_the_migrations_own_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_current_head() == HEAD_REVISION


def test_a_database_at_head_is_recognised_without_importing_alembic(tmp_path: Path) -> None:
    """A fresh database is migrated; a later start finds it at head with one query, in a
    process that never imports Alembic."""
    url = f"sqlite:///{tmp_path / 'qrelay.db'}"
    engine = create_engine(url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == HEAD_REVISION
    engine.dispose()
    script = (
        "import sys\n"
        "from sqlalchemy import create_engine\n"
        "from qrelay.service.db.migrate import current_revision, upgrade\n"
        "engine = create_engine(sys.argv[1])\n"
        "upgrade(engine)\n"
        "print(current_revision(engine), 'alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, url], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [HEAD_REVISION, "False"]


def _old_job(conn: Connection, *, balance: float, cost: float, estimate: float | None) -> None:
    """A user and a queued job as a database before revision 0003 stored them (floats;
    no estimate before revision 0002)."""
    now = datetime.now(UTC)
    user = {
        "id": "u1",
        "name": "Old",
        "email": "old@example.org",
        "role": "user",
        "balance": balance,
        "active": True,
        "token_hash": None,
        "created_at": now,
    }
    conn.execute(sa.table("users", *(sa.column(c) for c in user)).insert().values(**user))
    row = {
        "id": "j1",
        "user_id": "u1",
        "job_type": "submit",
        "target": "aer_simulator",
        "circuit_type": "payload",
        "num_circuits": 1,
        "shots": 10,
        "sim_method": None,
        "priority": 0,
        "status": "awaiting_submission",
        "tags": "",
        "job_metadata": "{}",
        "verbatim": False,
        "memory": False,
        "meas_level": 2,
        "options": "{}",
        "cost": cost,
        "charged": True,
        "deleted": False,
        "idempotency_key": "k",
        "request_hash": "h",
        "response": "{}",
        "submitted_at": now,
        "updated_at": now,
    } | ({"estimate": estimate} if estimate is not None else {})
    conn.execute(sa.table("jobs", *(sa.column(c) for c in row)).insert().values(**row))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrading_from_0001_keeps_the_jobs_and_holds_nothing_back_for_them(
    kind: str, tmp_path: Path
) -> None:
    """A database made before jobs kept their estimate upgrades in place: its jobs stay,
    with an estimate of 0, so what was queued under the old rule is not counted twice."""
    with database(kind, tmp_path) as url:
        engine = create_engine(url)
        upgrade(engine, "0001")
        with engine.begin() as conn:
            _old_job(conn, balance=1.0, cost=0.0, estimate=None)
        upgrade(engine, "head")
        with engine.connect() as conn:
            found = conn.execute(select(jobs.c.id, jobs.c.estimate_micros, jobs.c.status)).all()
        engine.dispose()
    assert [tuple(row) for row in found] == [("j1", 0, "awaiting_submission")]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrading_to_exact_money_converts_every_amount_and_downgrades(
    kind: str, tmp_path: Path
) -> None:
    """Revision 0003 turns float amounts into micro-units, each to the nearest one (0.06
    stored as a float becomes exactly 60000), and its downgrade turns them back."""
    from alembic import command

    with database(kind, tmp_path) as url:
        engine = create_engine(url)
        upgrade(engine, "0002")
        with engine.begin() as conn:
            _old_job(conn, balance=0.1 + 0.2 - 0.24, cost=0.3, estimate=0.9000000000000001)
        upgrade(engine, "head")
        with engine.connect() as conn:
            balance = conn.execute(select(users.c.balance_micros)).scalar_one()
            job = conn.execute(select(jobs.c.cost_micros, jobs.c.estimate_micros)).one()
        with engine.connect() as conn:
            command.downgrade(alembic_config(conn), "0002")  # type: ignore[arg-type]
            conn.commit()
        with engine.connect() as conn:
            old = conn.execute(sa.text("SELECT balance FROM users")).scalar_one()
            old_job = conn.execute(sa.text("SELECT cost, estimate FROM jobs")).one()
        assert current_revision(engine) == "0002"
        engine.dispose()
    assert (balance, tuple(job)) == (60_000, (300_000, 900_000))
    assert (old, tuple(old_job)) == (0.06, (0.3, 0.9))


def test_cli_upgrade_and_admin_create(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from qrelay.cli import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    args = parser.parse_args(["db", "upgrade", "--database-url", db_url])
    assert args.handler(args) == 0
    email = f"a{uuid.uuid4().hex[:6]}@example.org"
    args = parser.parse_args(
        ["admin", "create", "--email", email, "--name", "Ada", "--database-url", db_url]
    )
    assert args.handler(args) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    service = start(db_url, admin_token="x" + uuid.uuid4().hex)
    try:
        me = service.client(token).get("/v1/me").json()
        assert me["email"] == email
        assert me["role"] == "admin"
        args = parser.parse_args(["serve", "--port", "0", "--database-url", db_url])
        assert args.handler is not None
        assert args.port == 0
    finally:
        service.stop()


def test_bootstrap_users_and_workers(db_url: str) -> None:
    email = f"b{uuid.uuid4().hex[:6]}@example.org"
    user_token = bootstrap.create_user(db_url, name="Bo", email=email, balance=5.0)
    worker_token = bootstrap.create_worker_token(db_url, "w", ["aer_simulator"])
    drivers = bootstrap.catalog_drivers(db_url)
    assert drivers["aer_simulator"] == "aer"
    assert drivers["cirq_simulator"] == "cirq"
    service = start(db_url)
    try:
        assert service.client(user_token).get("/v1/me/balance").json() == {"balance": 5.0}
        r = service.client(worker_token).post(
            "/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}
        )
        assert r.status_code in (200, 204)
    finally:
        service.stop()


def test_catalog_files(tmp_path: Path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_text(
        '[[targets]]\nname = "dev_qpu"\ndriver = "qpu-grpc"\nnum_qubits = 4\nstatus = "dev_only"\n'
    )
    (info,) = load_targets(toml)
    assert info.name == "dev_qpu"
    assert info.status.value == "dev_only"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"targets": [{"name": "x", "driver": "aer"}]}))
    with pytest.raises(ConfigurationError, match=r"targets\[0\]"):
        load_targets(bad)
    with pytest.raises(ConfigurationError, match="twice"):
        Catalog([info, info])
    assert {"aer_simulator", "cirq_simulator"} <= set(Catalog.load().names())


@pytest.fixture(scope="module")
def priced(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("catalog") / "targets.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "aer_simulator",
                    "driver": "aer",
                    "simulator": True,
                    "num_qubits": 8,
                    "price_per_shot": 0.01,
                },
                {"name": "old_qpu", "driver": "qpu-grpc", "num_qubits": 4, "status": "retired"},
            ]
        )
    )
    service = start(db_url, targets_file=path)
    yield service
    service.stop()


def test_prices_402_and_charges(priced: Live) -> None:
    user, worker = priced.user(balance=3.0), priced.worker()
    dry = user.post(
        "/v1/jobs",
        json=new_job(circuits=2, shots=100, dry_run=True),
        headers={"Idempotency-Key": "d"},
    )
    assert dry.status_code == 201
    assert dry.json()["estimated_cost"] == pytest.approx(2.0)
    too_much = user.post(
        "/v1/jobs", json=new_job(circuits=4, shots=100), headers={"Idempotency-Key": "big"}
    )
    assert too_much.status_code == 402
    assert too_much.json()["code"] == "insufficient_balance"
    assert user.get("/v1/jobs").json()["jobs"] == []
    job = user.post("/v1/jobs", json=new_job(shots=100), headers={"Idempotency-Key": "ok"}).json()[
        "job_id"
    ]
    task = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}).json()
    r = worker.post(
        f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 80)
    )
    assert r.status_code == 204
    assert user.get("/v1/me/balance").json()["balance"] == pytest.approx(3.0 - 0.8)
    assert user.get(f"/v1/jobs/{job}").json()["cost"] == pytest.approx(0.8)
    retired = user.post(
        "/v1/jobs", json=new_job() | {"target": "old_qpu"}, headers={"Idempotency-Key": "r"}
    )
    assert retired.status_code == 422
    assert "retired" in retired.json()["detail"]


@pytest.fixture(scope="module")
def capped(db_url: str, priced: Live) -> Iterator[Live]:
    """A second service on the same database (with the same admin, whom starting installs)
    where a user may have two jobs unfinished at once; no workers."""
    service = start(db_url, admin_token=priced.admin_token, max_unfinished_jobs=2)
    yield service
    service.stop()


def test_a_user_over_max_unfinished_jobs_gets_429_and_nothing_is_stored(
    capped: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, admin = capped.user(), capped.admin
    ids = [
        user.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": f"k{i}"}).json()["job_id"]
        for i in range(2)
    ]
    third = user.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": "k2"})
    assert third.status_code == 429
    assert third.json()["code"] == "too_many_jobs"
    assert third.json()["max_unfinished_jobs"] == 2
    assert int(third.headers["Retry-After"]) >= 1
    assert len(user.get("/v1/jobs").json()["jobs"]) == 2
    # the client honours Retry-After, then gives up with the service's words
    monkeypatch.setenv("QRELAY_MAX_RETRIES", "0")
    token = user.headers["Authorization"].split()[1]
    with Client(capped.url, token) as client, pytest.raises(RateLimitedError) as info:
        client.submit(NewJob.model_validate(new_job()))
    assert info.value.status == 429
    assert "unfinished jobs" in str(info.value)
    # admins are not limited; a user's ended job makes room
    for i in range(3):
        r = admin.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": f"a{i}"})
        assert r.status_code == 201, r.text
    user.post("/v1/jobs/cancel", json={"job_ids": ids[:1]})
    again = user.post("/v1/jobs", json=new_job(), headers={"Idempotency-Key": "k2"})
    assert again.status_code == 201, again.text


def test_submissions_racing_for_one_balance_are_checked_one_after_the_other(priced: Live) -> None:
    """Eight threads submit at once a job costing 1.0 against a balance of 3.0: what the
    unfinished jobs hold back is read inside each submission's write transaction (with the
    user's row locked on PostgreSQL), so exactly three are queued and five refused."""
    token = priced.user(balance=3.0).headers["Authorization"].split()[1]
    barrier = threading.Barrier(8)

    def submit(index: int) -> int:
        with priced.client(token) as client:
            barrier.wait()
            r = client.post(
                "/v1/jobs", json=new_job(shots=100), headers={"Idempotency-Key": f"race{index}"}
            )
            return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(submit, range(8)))
    assert codes == [201] * 3 + [402] * 5
    with priced.client(token) as client:
        assert len(client.get("/v1/jobs").json()["jobs"]) == 3
        assert client.get("/v1/me/balance").json()["balance"] == pytest.approx(3.0)


def test_admins_are_not_charged(priced: Live) -> None:
    admin, worker = priced.user(balance=0.0, role="admin"), priced.worker()
    job = admin.post("/v1/jobs", json=new_job(shots=100), headers={"Idempotency-Key": "a"})
    assert job.status_code == 201
    task = worker.post("/v1/worker/lease", json={"targets": ["aer_simulator"], "wait": 0}).json()
    worker.post(f"/v1/worker/tasks/{task['task_id']}/result", json=completed(task["lease_id"], 100))
    assert admin.get("/v1/me/balance").json()["balance"] == 0.0


@pytest.mark.parametrize(
    ("database_url", "setting", "on_loop"),
    [
        (None, None, True),  # SQLite: calls well under a millisecond, one writer at a time
        (None, False, False),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", None, False),  # waits on the network
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", True, True),
    ],
)
def test_where_store_calls_run(
    tmp_path: Path, database_url: str | None, setting: bool | None, on_loop: bool
) -> None:
    """The routes run store calls on the event loop for SQLite and in the store's threads
    for PostgreSQL, unless ``store_on_loop`` says otherwise (no connection is made)."""
    from qrelay.service.app import ServiceRuntime
    from qrelay.service.operations import in_place
    from qrelay.settings import ServiceSettings

    settings = ServiceSettings(home=tmp_path, database_url=database_url, store_on_loop=setting)
    rt = ServiceRuntime(settings)
    try:
        assert rt.offload == (in_place if on_loop else rt.store_threads.call)
    finally:
        rt.engine.dispose()
