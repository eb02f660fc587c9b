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
import time
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx

from qrelay.errors import TransportError
from qrelay.payload import (
    HeartbeatResponse,
    TargetInfo,
    WorkerTask,
    WorkerTaskResults,
    WorkerTaskStatus,
)
from qrelay.runtime.problems import error_from_response
from qrelay.runtime.retry import RETRY_STATUSES, RetryPolicy

log = logging.getLogger(__name__)

#: Extra seconds the HTTP read may take beyond a long-poll's own wait.
_POLL_SLACK = 10.0


class WorkerChannel(Protocol):
    """What a worker needs of the service: :class:`WorkerApi` over HTTP, or the embedded
    default's in-process :class:`qrelay.service.local.LocalWorkerApi`."""

    url: str

    def close(self) -> None: ...
    def lease(self, targets: list[str], wait: float) -> WorkerTask | None: ...
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
    def target(self, name: str) -> TargetInfo: ...


class WorkerApi:
    """A thread-safe client of the worker endpoints.

    Requests go straight to an ``httpx`` transport (a keep-alive connection pool) rather
    than through an ``httpx.Client``: a worker needs none of the client's cookies,
    redirects, auth flows or URL merging, and that machinery cost about as much CPU per
    task as Aer spends on a Bell pair. ``transport`` replaces the pool (for instance with
    one that injects faults, or ``httpx.WSGITransport``).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy(max_retries=6, deadline=60.0, backoff_max=5.0)
        self._transport = transport or httpx.HTTPTransport()
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"}
        self._json_headers = self._headers | {"Content-Type": "application/json"}
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        self._transport.close()

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
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request, retrying what is safe to retry; raise on an error answer.

        ``content`` is a JSON body already serialised (a model's own ``model_dump_json``,
        rather than a dict that ``json=`` would serialise a second time)."""
        if json is not None:
            content = _json.dumps(json, separators=(",", ":")).encode()
        headers = self._headers if content is None else self._json_headers
        url = self.url + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        seconds = timeout if timeout is not None else self._timeout
        limits = {"connect": min(5.0, seconds), "read": seconds, "write": seconds, "pool": seconds}
        started = time.monotonic()
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._send(method, url, headers, content, limits)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                failure: Exception = TransportError(f"{method} {path}: {exc}")
                failure.__cause__ = exc
            except httpx.HTTPError as exc:
                raise TransportError(f"{method} {path}: {exc}") from exc
            else:
                if response.status_code < 400:
                    return response
                failure = error_from_response(
                    response.status_code, response.headers, response.content
                )
                if response.status_code not in RETRY_STATUSES:
                    raise failure
                retry_after = getattr(failure, "retry_after", None)
            delay = self.retry.next_delay(attempt, started, retry_after) if retry else None
            if delay is None or self._closed.is_set():
                raise failure
            log.warning("%s %s failed (%s); retrying in %.2f s", method, path, failure, delay)
            time.sleep(delay)
            attempt += 1

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        limits: dict[str, float],
    ) -> httpx.Response:
        """One request through the transport, its body read and the connection returned."""
        request = httpx.Request(
            method, url, headers=headers, content=content, extensions={"timeout": limits}
        )
        response = self._transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

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

    def heartbeat(self, task_id: str, lease_id: str) -> HeartbeatResponse:
        # not retried here: the heartbeat thread tries again at its next beat
        response = self.request(
            "POST",
            f"/v1/worker/tasks/{task_id}/heartbeat",
            json={"lease_id": lease_id},
            retry=False,
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

    def target(self, name: str) -> TargetInfo:
        response = self.request("GET", f"/v1/targets/{name}")
        return TargetInfo.model_validate_json(response.content)


def _task_of(response: httpx.Response) -> WorkerTask | None:
    """The task a lease answered with; ``None`` for 204 (none came in time)."""
    if response.status_code == 204 or not response.content:
        return None
    return WorkerTask.model_validate_json(response.content)
