"""A fault-injecting ASGI middleware: the real app, but some answers are 5xx or 429.

Planned faults are consumed in order per ``(method, path prefix)``. A fault either
answers in place of the app (``pass_through=False``: the request never reaches it), or
lets the app handle the request and then replaces its answer (``pass_through=True``: the
"answer lost on the way back" case, where the work was done but the client cannot know).
Every request is logged with its method, path, query and idempotency key.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Fault:
    status: int
    retry_after: str | None = None
    pass_through: bool = False


@dataclass
class Seen:
    method: str
    path: str
    query: str
    idempotency_key: str | None
    at: float
    faulted: int | None = None


@dataclass
class FaultInjector:
    app: ASGIApp
    plans: dict[tuple[str, str], list[Fault]] = field(default_factory=dict)
    log: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, method: str, path_prefix: str, *faults: Fault) -> None:
        with self._lock:
            self.plans.setdefault((method.upper(), path_prefix), []).extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.plans.clear()
            self.log.clear()

    def requests(self, method: str, path_prefix: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.log if s.method == method and s.path.startswith(path_prefix)]

    def _next_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for (m, prefix), faults in self.plans.items():
                if m == method and path.startswith(prefix) and faults:
                    return faults.pop(0)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        seen = Seen(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            idempotency_key=headers.get("idempotency-key"),
            at=time.monotonic(),
        )
        with self._lock:
            self.log.append(seen)
        fault = self._next_fault(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        seen.faulted = fault.status
        if fault.pass_through:

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
        await _problem(send, fault)


async def _problem(send: Send, fault: Fault) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Injected fault",
            "status": fault.status,
            "detail": "the fault injector answered in place of the service",
            "code": "unavailable" if fault.status == 503 else "rate_limited",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if fault.retry_after is not None:
        headers.append((b"retry-after", fault.retry_after.encode()))
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
