"""Oversized metadata, control characters and out-of-range filters, against the real service.

A user with a balance of 0 could store jobs of 25 MiB of metadata, and one listing then
built an answer of hundreds of MiB; a tag holding ``\\x1f`` came back as two tags; a far
date, a huge priority or a NUL byte in a filter answered 500. Each now gets a 422 naming
the field and changes nothing, and a listing pages within a byte bound. The service runs
under uvicorn with its default body limit, on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from tests.service.support import Live, database, new_job, start

from qrelay.payload.bounds import MAX_METADATA_BYTES
from qrelay.service.db.listing import MAX_PAGE_BYTES
from qrelay.service.db.tables import jobs


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """The service with its default limits over a fresh database of each kind."""
    with database(request.param, tmp_path_factory.mktemp("bounds")) as url:
        service = start(url)
        yield service
        service.stop()


def _count_jobs(live: Live) -> int:
    engine = create_engine(live.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())
    finally:
        engine.dispose()


def _submit(user: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return user.post(
        "/v1/jobs",
        content=json.dumps(body),
        headers={"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"},
    )


def _refused(r: httpx.Response, field: str) -> str:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    problem = r.json()
    assert problem["code"] == "validation_error", problem
    assert problem["detail"].startswith(field), problem["detail"]
    return str(problem["detail"])


def _padded(size: int) -> dict[str, Any]:
    """Metadata whose compact JSON is ``size`` bytes."""
    return {"pad": "x" * (size - len('{"pad":""}'))}


def test_oversized_metadata_is_refused_before_anything_is_stored(live: Live) -> None:
    user = live.user(balance=0.0)
    before = _count_jobs(live)
    detail = _refused(_submit(user, new_job(metadata=_padded(MAX_METADATA_BYTES + 1))), "metadata")
    assert str(MAX_METADATA_BYTES) in detail
    # The attack of the report: 24 MiB of metadata from a user who has paid nothing.
    _refused(_submit(user, new_job(metadata=_padded(24 << 20))), "metadata")
    assert _count_jobs(live) == before
    assert user.get("/v1/jobs").json()["jobs"] == []
    # At the bound it is taken, and comes back whole.
    r = _submit(user, new_job(metadata=_padded(MAX_METADATA_BYTES)))
    assert r.status_code == 201, r.text[:300]
    listed = user.get("/v1/jobs").json()["jobs"]
    assert [len(json.dumps(j["metadata"], separators=(",", ":"))) for j in listed] == [
        MAX_METADATA_BYTES
    ]


def test_a_listing_pages_within_its_byte_bound_and_misses_no_job(live: Live) -> None:
    user = live.user(balance=0.0)
    count = MAX_PAGE_BYTES // MAX_METADATA_BYTES + 4
    stored = []
    for index in range(count):
        r = _submit(user, new_job(metadata=_padded(MAX_METADATA_BYTES - 16) | {"i": index}))
        assert r.status_code == 201, r.text[:300]
        stored.append(r.json()["job_id"])
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        r = user.get("/v1/jobs", params=params)
        assert r.status_code == 200, r.text[:300]
        # A page ends once it holds MAX_PAGE_BYTES; the job that crossed it stays.
        assert len(r.content) <= MAX_PAGE_BYTES + 2 * MAX_METADATA_BYTES
        page = r.json()
        assert page["jobs"], "a page holds at least one job"
        seen += [j["job_id"] for j in page["jobs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages >= 2
    assert seen == stored[::-1]  # newest first, each job once


CONTROL_TAGS = {"unit separator": "a\x1fb", "nul": "a\x00b", "delete": "a\x7f", "newline": "a\nb"}


@pytest.mark.parametrize("name", sorted(CONTROL_TAGS))
def test_a_tag_with_a_control_character_is_refused(live: Live, name: str) -> None:
    user = live.user()
    before = _count_jobs(live)
    detail = _refused(_submit(user, new_job(tags=["ok", CONTROL_TAGS[name]])), "tags.1")
    assert "control character" in detail
    assert _count_jobs(live) == before


def test_tags_come_back_as_they_were_given(live: Live) -> None:
    user = live.user()
    tags = ["a b", "ünïcode ✓", "50%_off", "back\\slash"]
    r = _submit(user, new_job(tags=tags))
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]
    assert user.get(f"/v1/jobs/{job_id}").json()["tags"] == tags
    for tag in tags:
        found = user.get("/v1/jobs", params={"tag": tag}).json()["jobs"]
        assert [j["job_id"] for j in found] == [job_id]
    assert user.get("/v1/jobs", params={"tag": "a"}).json()["jobs"] == []


def _cursor(at: str, job_id: Any = "0" * 32) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, job_id]).encode()).decode().rstrip("=")


BAD_FILTERS: dict[str, tuple[dict[str, str], str]] = {
    "far future": ({"submitted_before": "9999-12-31T23:59:59-12:00"}, "submitted_before"),
    "far past": ({"submitted_after": "0001-01-01T00:00:00+05:00"}, "submitted_after"),
    "not a date": ({"submitted_after": "yesterday"}, "submitted_after"),
    "huge min priority": ({"min_priority": str(10**30)}, "min_priority"),
    "huge max priority": ({"max_priority": str(-(10**30))}, "max_priority"),
    "nul in tag": ({"tag": "a\x00"}, "tag"),
    "nul in target": ({"target_name": "aer\x00"}, "target_name"),
    "nul in job id": ({"job_id": "ab\x00"}, "job_id.0"),
    "cursor far future": ({"cursor": _cursor("9999-12-31T23:59:59-12:00")}, "cursor"),
    "cursor far past": ({"cursor": _cursor("0001-01-01T00:00:00+05:00")}, "cursor"),
    "cursor with an object id": ({"cursor": _cursor("2026-01-01T00:00:00", {"a": 1})}, "cursor"),
    "cursor not base64": ({"cursor": "%%%"}, "cursor"),
    "cursor too long": ({"cursor": "A" * 10_000}, "cursor"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILTERS))
def test_an_out_of_range_list_filter_is_a_422_naming_it(live: Live, name: str) -> None:
    params, field = BAD_FILTERS[name]
    user = live.user()
    _refused(user.get("/v1/jobs", params=params), field)


def test_an_admin_filter_with_a_nul_is_a_422(live: Live) -> None:
    _refused(live.admin.get("/v1/jobs", params={"user_email": "a\x00@example.org"}), "user_email")


def test_extreme_dates_that_are_dates_filter_normally(live: Live) -> None:
    user = live.user()
    job_id = _submit(user, new_job()).json()["job_id"]
    early = {"submitted_after": "0001-01-01T00:00:00Z", "submitted_before": "9999-12-31T00:00:00"}
    assert [j["job_id"] for j in user.get("/v1/jobs", params=early).json()["jobs"]] == [job_id]
    late = {"submitted_after": "9999-12-31T00:00:00Z"}
    assert user.get("/v1/jobs", params=late).json()["jobs"] == []


@pytest.mark.parametrize("field", ["name", "email"])
def test_a_user_or_worker_name_with_a_nul_is_refused(live: Live, field: str) -> None:
    body = {"name": "ok", "email": f"n{uuid.uuid4().hex[:8]}@example.org", "balance": 0}
    body[field] = "a\x00b" if field == "name" else "a\x00b@example.org"
    _refused(live.admin.post("/v1/users", json=body), field)
    r = live.admin.post("/v1/workers", json={"name": "w\x00", "targets": ["aer_simulator"]})
    _refused(r, "name")


def test_metadata_may_hold_any_character_and_comes_back_as_given(live: Live) -> None:
    """Metadata is JSON, stored as JSON text: a NUL or a separator in it is escaped there,
    so it needs no character rule of its own."""
    user = live.user()
    metadata = {"nul\x00key": "a\x00b", "sep": "x\x1fy", "nested": [{"\x7f": None}]}
    r = _submit(user, new_job(metadata=metadata))
    assert r.status_code == 201, r.text
    assert user.get(f"/v1/jobs/{r.json()['job_id']}").json()["metadata"] == metadata
