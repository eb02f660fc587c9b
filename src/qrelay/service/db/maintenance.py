"""Maintenance windows: scheduling them, and keeping leases out of them.

The windows still to come or open are read at most every :data:`WINDOWS_TTL` seconds
(and at once after this process changes one): a lease asks, on its hot path, which of
its targets are open (:meth:`MaintenanceStore.open_targets`) without a query of its own.
A replica learns of a window another one scheduled within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select, update

from qrelay.payload.maintenance import MAX_WINDOW_DAYS, MaintenanceWindow, NewMaintenance
from qrelay.service.auth import UserPrincipal
from qrelay.service.db import audit as audit_log
from qrelay.service.db.base import StoreBase, aware, utcnow
from qrelay.service.db.engine import read, write
from qrelay.service.db.tables import maintenance
from qrelay.service.problems import ApiError

#: Seconds the windows read from the database are reused.
WINDOWS_TTL: Final = 1.0


def _window(row: Any) -> MaintenanceWindow:
    starts, ends = aware(row.starts_at), aware(row.ends_at)
    assert starts is not None
    assert ends is not None
    return MaintenanceWindow(
        window_id=row.id, target=row.target, starts_at=starts, ends_at=ends, reason=row.reason
    )


class MaintenanceStore(StoreBase):
    """The store's maintenance windows."""

    _windows: tuple[float, list[MaintenanceWindow]] | None = None
    _windows_lock = threading.Lock()

    def windows(self, targets: Iterable[str] | None = None) -> dict[str, list[MaintenanceWindow]]:
        """The open and coming windows of each target (of ``targets``), soonest first."""
        with self._windows_lock:
            cached = self._windows
        now = time.monotonic()
        if cached is None or now - cached[0] > WINDOWS_TTL:
            stmt = (
                select(maintenance)
                .where(maintenance.c.ends_at > utcnow(), maintenance.c.cancelled.is_(False))
                .order_by(maintenance.c.starts_at, maintenance.c.id)
            )
            with read(self.engine) as conn:
                found = [_window(r) for r in conn.execute(stmt)]
            cached = (now, found)
            with self._windows_lock:
                self._windows = cached
        wanted = None if targets is None else set(targets)
        out: dict[str, list[MaintenanceWindow]] = {}
        at = utcnow()
        for window in cached[1]:
            if window.ends_at > at and (wanted is None or window.target in wanted):
                out.setdefault(window.target, []).append(window)
        return out

    def open_window(self, target: str, at: datetime | None = None) -> MaintenanceWindow | None:
        """The window that holds ``target`` at ``at`` (default now), if one does."""
        when = at or utcnow()
        return next((w for w in self.windows([target]).get(target, []) if w.holds(when)), None)

    def open_targets(self, targets: Sequence[str]) -> list[str]:
        """``targets`` without those a maintenance window holds now (kept in order)."""
        held = self.windows(targets)
        if not held:
            return list(targets)
        now = utcnow()
        return [t for t in targets if not any(w.holds(now) for w in held.get(t, []))]

    def schedule_maintenance(
        self, admin: UserPrincipal, target: str, new: NewMaintenance
    ) -> MaintenanceWindow:
        """Store a window for ``target`` (audited); 422 naming the field if it is over
        already or longer than :data:`MAX_WINDOW_DAYS`."""
        now = utcnow()
        starts = new.starts_at or now
        if new.ends_at <= max(starts, now):
            raise ApiError(422, "validation_error", "ends_at: the window is over already")
        if new.ends_at - starts > timedelta(days=MAX_WINDOW_DAYS):
            raise ApiError(
                422, "validation_error", f"ends_at: a window lasts at most {MAX_WINDOW_DAYS} days"
            )
        with write(self.engine) as conn:
            window_id = conn.execute(
                insert(maintenance)
                .values(
                    target=target,
                    starts_at=starts,
                    ends_at=new.ends_at,
                    reason=new.reason,
                    created_by=admin.user_id,
                    created_at=now,
                    cancelled=False,
                )
                .returning(maintenance.c.id)
            ).scalar_one()
            window = MaintenanceWindow(
                window_id=window_id,
                target=target,
                starts_at=starts,
                ends_at=new.ends_at,
                reason=new.reason,
            )
            audit_log.record(
                conn,
                admin,
                "target.maintenance.schedule",
                target,
                after=window.model_dump(mode="json", exclude={"target"}),
            )
        self._forget_windows()
        return window

    def cancel_maintenance(self, admin: UserPrincipal, target: str, window_id: int) -> None:
        """Cancel a window of ``target`` (audited): leases of its tasks resume at once."""
        with write(self.engine) as conn:
            row = conn.execute(
                select(maintenance).where(
                    maintenance.c.id == window_id,
                    maintenance.c.target == target,
                    maintenance.c.cancelled.is_(False),
                )
            ).first()
            if row is None:
                raise ApiError(
                    404, "not_found", f"window_id: target {target!r} has no window {window_id}"
                )
            conn.execute(
                update(maintenance).where(maintenance.c.id == window_id).values(cancelled=True)
            )
            audit_log.record(
                conn,
                admin,
                "target.maintenance.cancel",
                target,
                before=_window(row).model_dump(mode="json", exclude={"target"}),
            )
        self._forget_windows()
        self.notifier.notify(f"target:{target}")  # idle workers look again now

    def _forget_windows(self) -> None:
        with self._windows_lock:
            self._windows = None
