"""The web console in a real browser, against real ``qrelay serve`` and ``qrelay worker``
processes.

Playwright drives the system's chromium (``/usr/bin/chromium``, from the distribution's
package; nothing is downloaded). Without it the tests skip, saying so. With
``QRELAY_CONSOLE_SCREENSHOTS=<dir>`` the walk through the pages saves a screenshot of
each main page there (the operating guide's images come from such a run).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.reliability.circuits import bell
from tests.reliability.procs import Stack, job, submit, wait_terminal, wait_until
from tests.service.support import database

CHROMIUM = os.environ.get("QRELAY_TEST_CHROMIUM") or shutil.which("chromium") or ""
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM, reason="no chromium found (apt-get install chromium) for the browser tests"
    ),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

#: Generous: the suite runs on two busy cores.
WAIT_MS = 90_000


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``qrelay serve`` on SQLite with a worker for ``aer_simulator`` (and none for
    ``cirq_simulator``, whose jobs stay queued until cancelled)."""
    with database("sqlite", tmp_path) as url:
        s = Stack(home=tmp_path, database_url=url)
        try:
            s.start_service()
            s.start_worker(s.new_worker_token(["aer_simulator"]), ["aer_simulator"])
            yield s
        finally:
            s.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _log_in(browser: Any, url: str, token: str) -> Any:
    """A fresh browser context logged in with ``token``; its page is on the job list.

    Every request the page makes is checked to go to the service itself: the console
    loads nothing from other hosts (it works offline)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(url) else elsewhere.append(r.url))
    page.elsewhere = elsewhere
    page.goto(f"{url}/ui/")
    assert page.url.endswith("/ui/login")
    page.fill("input[name=token]", token)
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_url(f"{url}/ui/jobs")
    return page


def _shot(page: Any, name: str, *hidden: str) -> None:
    """Save the page's picture when asked, with the elements ``hidden`` (selectors) masked."""
    where = os.environ.get("QRELAY_CONSOLE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        height = min(page.evaluate("() => document.body.scrollHeight"), 1100)
        page.screenshot(
            path=str(Path(where) / f"{name}.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": height},
            mask=[page.locator(selector) for selector in hidden],
        )


def _shot_part(page: Any, name: str, selector: str) -> None:
    """Save the picture of one part of the page (``selector``) when asked."""
    where = os.environ.get("QRELAY_CONSOLE_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.locator(selector).screenshot(path=str(Path(where) / f"{name}.png"))


def _row_status(page: Any, url: str, job_id: str) -> str | None:
    page.goto(f"{url}/ui/jobs")
    row = page.locator(f"tr[data-job-id='{job_id}']")
    return row.get_attribute("data-status") if row.count() else None


def test_a_user_watches_a_job_finish_opens_its_histogram_and_cancels_a_queued_job(
    stack: Stack, browser: Any
) -> None:
    token = stack.new_user()
    api = stack.client(token)
    tag = f"console-{uuid.uuid4().hex[:6]}"
    page = _log_in(browser, stack.url, token)
    assert page.locator("text=No jobs match.").count() == 1

    done_id = submit(
        api,
        {
            "target": "aer_simulator",
            "circuits": [bell()],
            "shots": 400,
            "options": {"seed": 11},
            "tags": [tag],
        },
    )
    # A job no worker serves stays queued (it is cancelled from its page below).
    queued_id = submit(api, {"target": "cirq_simulator", "circuits": [bell()], "shots": 10})
    pair_id = submit(api, {"target": "aer_simulator", "circuits": [bell(), bell()], "shots": 50})
    # The job appears in the list, and the list shows it completed once the worker ran it.
    wait_until(lambda: _row_status(page, stack.url, done_id) is not None, 90, "the job listed")
    wait_until(
        lambda: _row_status(page, stack.url, done_id) == "completed", 120, "the job completed"
    )
    wait_until(lambda: _row_status(page, stack.url, pair_id) == "completed", 120, "2nd job")
    _shot(page, "jobs")
    # Filters: the tag finds it, another target does not.
    page.goto(f"{stack.url}/ui/jobs?tag={tag}")
    assert page.locator(f"tr[data-job-id='{done_id}']").count() == 1
    page.select_option("select[name=target]", "cirq_simulator")
    page.click("form.filters button[type=submit]")
    assert page.locator(f"tr[data-job-id='{done_id}']").count() == 0

    # Its page: the histogram drawn on the server holds the Bell outcomes and all shots.
    page.goto(f"{stack.url}/ui/jobs")
    page.click(f"a[href='/ui/jobs/{done_id}']")
    page.wait_for_url(f"{stack.url}/ui/jobs/{done_id}")
    bars = page.locator("svg.histogram g.bar")
    counts = {
        bars.nth(i).get_attribute("data-outcome"): int(bars.nth(i).get_attribute("data-count"))
        for i in range(bars.count())
    }
    assert counts == wait_terminal(api, done_id)["counts"][0]
    assert set(counts) <= {"00", "11", "01", "10"}
    assert sum(counts.values()) == 400
    assert counts.get("00", 0) > 100
    assert counts.get("11", 0) > 100
    assert page.locator("ol.timeline li").filter(has_text="completed").count() >= 1
    # Trace and calibration ids show where the job data carries them, a dash otherwise.
    data = job(api, done_id)
    assert page.locator("#trace").inner_text() == (data.get("trace_id") or "—")
    assert page.locator("#calibration").inner_text() == (data.get("calibration_id") or "—")
    assert page.locator("#cancel").count() == 0  # an ended job has no cancel button
    _shot(page, "job")

    # The queued job: the cancel button on its page cancels it.
    page.goto(f"{stack.url}/ui/jobs/{queued_id}")
    assert page.locator("#job-status").inner_text() not in {"completed", "cancelled"}
    page.click("#cancel")
    page.wait_for_url(f"{stack.url}/ui/jobs/{queued_id}")
    assert page.locator("#job-status").inner_text() == "cancelled"
    assert job(api, queued_id)["status"] == "cancelled"
    assert page.elsewhere == []


def test_targets_and_the_coupling_map(stack: Stack, browser: Any) -> None:
    admin = stack.admin()
    square = admin.get("/v1/targets/square_qpu").json()
    for step in range(4):  # a short history: T1 drifts down, one qubit more than the rest
        qubits = [
            {**q, "t1_us": (q.get("t1_us") or 100.0) - 6.0 * step - (9.0 * step if i == 0 else 0)}
            for i, q in enumerate(square["qubits"])
        ]
        snapshot = {"qubits": qubits, "gates": square["gates"]}
        r = admin.post("/v1/targets/square_qpu/calibrations", json=snapshot)
        assert r.status_code == 201, r.text
    window = {
        "starts_at": "2099-06-01T06:00:00Z",
        "ends_at": "2099-06-01T14:00:00Z",
        "reason": "cryostat service",
    }
    assert admin.post("/v1/targets/square_qpu/maintenance", json=window).status_code == 201
    page = _log_in(browser, stack.url, stack.new_user())
    page.click("nav a[href='/ui/targets']")
    assert page.locator("tr[data-target='aer_simulator'] .status").inner_text() == "available"
    _shot(page, "targets")
    page.click("a[href='/ui/targets/square_qpu']")
    page.wait_for_url(f"{stack.url}/ui/targets/square_qpu")
    target = stack.client(stack.new_user()).get("/v1/targets/square_qpu").json()
    qubits = page.locator("svg.coupling g.qubit")
    assert qubits.count() == target["num_qubits"]
    pairs = {(min(a, b), max(a, b)) for a, b in target["coupling_map"]}
    assert page.locator("svg.coupling line.edge").count() == len(pairs)
    # Colours follow the calibration: the worst readout error is drawn red, the best green.
    errors = [q["readout_error"] for q in target["qubits"]]
    worst, best = errors.index(max(errors)), errors.index(min(errors))
    fill = "svg.coupling g.qubit[data-qubit='{}'] circle"
    assert page.locator(fill.format(worst)).get_attribute("fill") == "#cf222e"
    assert page.locator(fill.format(best)).get_attribute("fill") == "#2ea043"
    assert page.locator("table.calibration tbody tr").first.is_visible()
    # The history: every snapshot of the week is a row and a point of the T1 chart.
    history = admin.get("/v1/targets/square_qpu/calibrations").json()["calibrations"]
    assert page.locator("table.history tbody tr").count() == len(history)
    chart = page.locator("svg.t1-chart")
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    assert chart.locator("circle.point").count() == len(history)
    assert page.locator("#maintenance tr[data-window]").inner_text().count("cryostat service") == 1
    _shot(page, "target")
    _shot_part(page, "target-history", "#calibration-history")
    assert page.elsewhere == []


def test_another_users_job_is_not_reachable_and_forms_need_their_csrf_token(
    stack: Stack, browser: Any
) -> None:
    owner = stack.client(stack.new_user())
    job_id = submit(owner, {"target": "cirq_simulator", "circuits": [bell()], "shots": 10})
    page = _log_in(browser, stack.url, stack.new_user())
    answer = page.goto(f"{stack.url}/ui/jobs/{job_id}")
    assert answer.status == 404
    assert f"no job '{job_id}'" in page.locator("p.error").inner_text()
    assert page.locator(f"tr[data-job-id='{job_id}']").count() == 0
    # A cancel posted with the other user's session and its CSRF token: still a 404.
    csrf = page.evaluate("() => document.querySelector('form.logout input[name=csrf]').value")
    refused = page.request.post(f"{stack.url}/ui/jobs/{job_id}/cancel", form={"csrf": csrf})
    assert refused.status == 404
    # The owner's own session without the CSRF token (as a forged cross-site form would be).
    owner_page = _log_in(browser, stack.url, owner.headers["Authorization"].split()[1])
    forged = owner_page.request.post(f"{stack.url}/ui/jobs/{job_id}/cancel", form={"x": "1"})
    assert forged.status == 403
    wrong = owner_page.request.post(f"{stack.url}/ui/jobs/{job_id}/cancel", form={"csrf": csrf})
    assert wrong.status == 403
    assert job(owner, job_id)["status"] not in {"cancelled"}
    # A user sees no admin pages.
    assert page.goto(f"{stack.url}/ui/admin/users").status == 403
    # The session cookie is HttpOnly and SameSite=Strict, sent only under /ui.
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "qrelay_session"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/ui"
    assert page.evaluate("() => document.cookie").find("qrelay_session") == -1


def test_admin_pages_change_a_user_and_rotate_a_worker(stack: Stack, browser: Any) -> None:
    user_token = stack.new_user(balance=5.0)
    user = stack.client(user_token).get("/v1/me").json()
    page = _log_in(browser, stack.url, stack.admin_token)
    page.click("nav a[href='/ui/admin/users']")
    row = page.locator(f"tr[data-user-id='{user['user_id']}']")
    row.locator("input[name=balance]").fill("42.5")
    row.locator("select[name=role]").select_option("priority")
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"{stack.url}/ui/admin/users")
    changed = stack.admin().get("/v1/users", params={"user_id": user["user_id"]}).json()[0]
    assert changed["balance"] == 42.5
    assert changed["role"] == "priority"
    assert changed["active"]
    _shot(page, "users")

    page.click("nav a[href='/ui/admin/workers']")
    worker_id = page.locator("tr[data-worker-id]").first.get_attribute("data-worker-id")
    page.locator(f"tr[data-worker-id='{worker_id}'] button", has_text="Rotate token").click()
    new_token = page.locator("#issued-token").inner_text()
    assert new_token.startswith("qrw_")
    _shot(page, "workers", "#issued-token")

    page.click("nav a[href='/ui/admin/audit']")
    actions = page.locator("table.audit tbody tr td:nth-child(3)").all_inner_texts()
    assert "user.update" in actions
    assert "worker.token" in actions
    assert new_token not in page.content()  # tokens never reach the audit log
    _shot(page, "audit")
