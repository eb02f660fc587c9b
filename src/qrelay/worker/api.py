"""The worker's side of the service's REST API: lease, heartbeat, status, result.

Requests that fail for a reason that says "nothing happened, try later" (a connection
error, 429/502/503/504) are retried with jittered exponential backoff, a bounded number
of times inside a deadline (see :class:`qrelay.runtime.retry.RetryPolicy`). Error answers
become qrelay's exception tree (``ConflictError`` with code ``lease_lost`` and so on).
"""

from __future__ import annotations

import json as _json
import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from qrelay.errors import ServiceError, TransportError
from qrelay.payload import (
    HeartbeatResponse,
    LeasedTasks,
    TargetInfo,
    TaskResultOutcome,
    TaskResults,
    WorkerResultsAnswer,
    WorkerResultsBatch,
    WorkerTask,
    WorkerTaskResults,
    WorkerTaskStatus,
    validate_json,
)
from qrelay.runtime.problems import error_from_response
from qrelay.runtime.retry import NO_RETRY, RETRY_STATUSES, RetryPolicy, call_with_retry
from qrelay.worker.http import Answer, Connections, UnreachableError

#: Extra seconds the HTTP read may take beyond a long-poll's own wait.
_POLL_SLACK = 10.0


class WorkerChannel(Protocol):
    """What a worker needs of the service: :class:`WorkerApi` over HTTP, or the embedded
    default's in-process :class:`qrelay.service.local.LocalWorkerApi`."""

    url: str

    def close(self) -> None: ...
    def lease(self, targets: list[str], wait: float) -> WorkerTask | None: ...
    def lease_many(self, targets: list[str], wait: float, limit: int) -> list[WorkerTask]: ...
    def heartbeat(self, task_id: str, lease_id: str) -> HeartbeatResponse: ...
    def status(self, task_id: str, status: WorkerTaskStatus) -> None: ...
    def result(
        self,
        task_id: str,
        results: WorkerTaskResults,
        *,
        lease: list[str] | None = None,
        wait: float = 0.0,
    ) -> WorkerTask | None: ...
    def results(
        self,
        batch: Sequence[TaskResults],
        *,
        lease: list[str] | None = None,
        wait: float = 0.0,
        limit: int = 1,
    ) -> tuple[list[TaskResultOutcome], list[WorkerTask]]: ...
    def target(self, name: str) -> TargetInfo: ...
    def report_calibration(self, name: str, info: TargetInfo) -> None: ...


class WorkerApi:
    """A thread-safe client of the worker endpoints, over ``httpx``'s keep-alive
    connections (see :mod:`qrelay.worker.http`)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy(max_retries=6, deadline=60.0, backoff_max=5.0)
        self._connections = Connections(self.url)
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": "qrelay-worker"}
        self._json_headers = self._headers | {"Content-Type": "application/json"}
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        self._connections.close()

    # ------------------------------------------------------------------ transport
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
        retry: bool | RetryPolicy = True,
    ) -> Answer:
        """Send one request, retrying what is safe to retry; raise on an error answer.

        ``content`` is a JSON body already serialised (a model's own ``model_dump_json``,
        rather than a dict that ``json=`` would serialise a second time). ``retry`` is
        the client's policy (``True``), none (``False``), or a policy of the request's own.
        A worker's request is retried whatever its method."""
        if json is not None:
            content = _json.dumps(json, separators=(",", ":")).encode()
        headers = self._headers if content is None else self._json_headers
        target = path + ("?" + urlencode(params, doseq=True) if params else "")
        seconds = timeout if timeout is not None else self._timeout

        def send() -> Answer:
            try:
                response = self._connections.send(method, target, headers, content, seconds)
            except UnreachableError as exc:
                raise TransportError(f"{method} {self.url}{path}: {exc}") from exc
            except (OSError, httpx.TransportError) as exc:
                raise TransportError(
                    f"{method} {self.url}{path}: {type(exc).__name__}: {exc}"
                ) from exc
            if response.status_code >= 400:
                raise error_from_response(response.status_code, response.headers, response.content)
            return response

        def retry_on(exc: Exception) -> bool:
            if self._closed.is_set():
                return False
            if isinstance(exc, TransportError):
                return isinstance(exc.__cause__, UnreachableError)
            return isinstance(exc, ServiceError) and exc.status in RETRY_STATUSES

        policy = self.retry if retry is True else NO_RETRY if retry is False else retry
        return call_with_retry(
            send, policy, retry_on=retry_on, what=f"{method} {path}", level=logging.WARNING
        )

    # ------------------------------------------------------------------ endpoints
    def lease(self, targets: list[str], wait: float) -> WorkerTask | None:
        """Long-poll for a task for one of ``targets``; ``None`` when none came in time."""
        response = self.request(
            "POST",
            "/v1/worker/lease",
            json={"targets": targets, "wait": wait},
            timeout=wait + _POLL_SLACK,
        )
        return _task_of(response)

    def lease_many(self, targets: list[str], wait: float, limit: int) -> list[WorkerTask]:
        """Long-poll for up to ``limit`` tasks of ``targets`` (the service bounds it); an
        empty list when none came in time."""
        response = self.request(
            "POST",
            "/v1/worker/lease",
            json={"targets": targets, "wait": wait, "max_tasks": limit},
            timeout=wait + _POLL_SLACK,
        )
        return validate_json(LeasedTasks, response.content).tasks

    def heartbeat(self, task_id: str, lease_id: str) -> HeartbeatResponse:
        # not retried here: the heartbeat thread tries again at its next beat
        response = self.request(
            "POST",
            f"/v1/worker/tasks/{task_id}/heartbeat",
            json={"lease_id": lease_id},
            retry=NO_RETRY,
        )
        return HeartbeatResponse.model_validate_json(response.content)

    def status(self, task_id: str, status: WorkerTaskStatus) -> None:
        self.request(
            "POST",
            f"/v1/worker/tasks/{task_id}/status",
            json=status.model_dump(mode="json", exclude_none=True),
        )

    def result(
        self,
        task_id: str,
        results: WorkerTaskResults,
        *,
        lease: list[str] | None = None,
        wait: float = 0.0,
    ) -> WorkerTask | None:
        """Post a task's result; with ``lease``, then long-poll for the next task of those
        targets in the same request (``None``: none came within ``wait`` seconds)."""
        body = results.model_dump_json(exclude_none=True).encode()
        path = f"/v1/worker/tasks/{task_id}/result"
        if not lease:
            self.request("POST", path, content=body)
            return None
        response = self.request(
            "POST",
            path,
            content=body,
            params={"lease": lease, "wait": wait},
            timeout=wait + _POLL_SLACK,
        )
        return _task_of(response)

    def results(
        self,
        batch: Sequence[TaskResults],
        *,
        lease: list[str] | None = None,
        wait: float = 0.0,
        limit: int = 1,
    ) -> tuple[list[TaskResultOutcome], list[WorkerTask]]:
        """Post several tasks' results in one request (recorded in one transaction, each
        accepted or refused on its own); with ``lease``, then long-poll for up to
        ``limit`` next tasks of those targets in the same request."""
        body = WorkerResultsBatch(results=list(batch)).model_dump_json(exclude_none=True)
        params: dict[str, Any] | None = None
        timeout = None
        if lease:
            params = {"lease": lease, "wait": wait, "max_tasks": limit}
            timeout = wait + _POLL_SLACK
        response = self.request(
            "POST", "/v1/worker/results", content=body.encode(), params=params, timeout=timeout
        )
        answer = validate_json(WorkerResultsAnswer, response.content)
        return answer.outcomes, answer.tasks

    def target(self, name: str) -> TargetInfo:
        response = self.request("GET", f"/v1/worker/targets/{name}")
        return TargetInfo.model_validate_json(response.content)

    def report_calibration(self, name: str, info: TargetInfo) -> None:
        """Tell the service the device's own calibration (it keeps it in the history)."""
        self.request(
            "POST",
            f"/v1/worker/targets/{name}/calibrations",
            content=info.model_dump_json(exclude_none=True).encode(),
        )


def _task_of(response: Answer) -> WorkerTask | None:
    """The task a lease answered with; ``None`` for 204 (none came in time)."""
    if response.status_code == 204 or not response.content:
        return None
    return validate_json(WorkerTask, response.content)
