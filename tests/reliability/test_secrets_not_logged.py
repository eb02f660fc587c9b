"""Real processes at their most verbose: no token appears in any log they write."""

from __future__ import annotations

from .circuits import bell
from .procs import Stack, submit, wait_terminal


def test_no_token_in_the_logs_of_serve_and_worker(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    stack.start_service()  # -vv: debug logging
    user_token = stack.new_user()
    worker_token = stack.new_worker_token(["aer_simulator"])
    user = stack.client(user_token)
    stack.start_worker(worker_token, ["aer_simulator"])
    job_id = submit(user, {"target": "aer_simulator", "circuits": [bell()], "shots": 10})
    assert wait_terminal(user, job_id)["statuses"] == ["completed"]
    bogus = "qru_" + "NotAToken" * 4
    assert stack.client(bogus).get("/v1/me").status_code == 401
    assert stack.client(worker_token).get("/v1/jobs").status_code == 403
    stack.close()  # SIGTERM: shutdown messages land in the logs too
    logs = {p.name: p.read_text(errors="replace") for p in stack.home.glob("*.log")}
    assert any("serve" in name for name in logs)
    assert any("worker" in name for name in logs)
    assert sum(len(text) for text in logs.values()) > 1000  # they did log
    for secret in (user_token, worker_token, bogus, stack.admin_token):
        leaks = [name for name, text in logs.items() if secret in text]
        assert leaks == [], f"a token is in {leaks}"
