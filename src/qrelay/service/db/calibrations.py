"""Calibration history: storing each target's snapshots and reading them back.

A target's newest snapshot is its current calibration: the service's ``TargetInfo``
carries it (:meth:`CalibrationStore.calibrated`), so a client's transpiler target and a
worker's noise model follow it. Snapshots come from three places
(:class:`~qrelay.payload.calibration.CalibrationSource`): the catalog entry, the first
time the service sees the target; the device, reported by the worker that serves it; an
admin, through the API. A snapshot whose id the target already has is not stored again:
the id is a hash of the content, so it is the same measurement.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from qrelay.payload import TargetInfo
from qrelay.payload.calibration import (
    Calibration,
    CalibrationPage,
    CalibrationQuery,
    CalibrationSource,
    apply,
)
from qrelay.service.auth import UserPrincipal
from qrelay.service.db import audit as audit_log
from qrelay.service.db.base import StoreBase, aware, utcnow
from qrelay.service.db.engine import read, write
from qrelay.service.db.tables import calibrations
from qrelay.service.problems import ApiError


def _snapshot(info: TargetInfo) -> dict[str, Any]:
    return {
        "qubits": [q.model_dump(mode="json", exclude_none=True) for q in info.qubits],
        "gates": [g.model_dump(mode="json", exclude_none=True) for g in info.gates],
        "dt_ns": info.dt_ns,
    }


def _calibration(row: Any) -> Calibration:
    taken = aware(row.taken_at)
    assert taken is not None
    return Calibration(
        calibration_id=row.calibration_id,
        target=row.target,
        taken_at=taken,
        source=CalibrationSource(row.source),
        qubits=row.snapshot["qubits"],
        gates=row.snapshot["gates"],
        dt_ns=row.snapshot.get("dt_ns"),
    )


def _calibrated(info: TargetInfo) -> bool:
    """Whether a catalog entry has a calibration to keep (a device, not a simulator)."""
    return info.calibration_id is not None and bool(info.qubits)


class CalibrationStore(StoreBase):
    """The store's calibration history."""

    _seeded = False

    def _seed(self) -> None:
        """Record each calibrated catalog target's own snapshot, if it has none yet."""
        if self._seeded:
            return
        with read(self.engine) as conn:
            known = set(conn.execute(select(calibrations.c.target).distinct()).scalars())
        for info in self.catalog.all():
            if _calibrated(info) and info.name not in known:
                self.add_calibration(info, CalibrationSource.CATALOG)
        self._seeded = True

    def current_calibrations(self, names: Iterable[str] | None = None) -> dict[str, Calibration]:
        """The newest snapshot of each target (of ``names``, default all) that has one."""
        self._seed()
        newest = select(func.max(calibrations.c.id)).group_by(calibrations.c.target)
        if names is not None:
            newest = newest.where(calibrations.c.target.in_(list(names)))
        stmt = select(calibrations).where(calibrations.c.id.in_(newest.scalar_subquery()))
        with read(self.engine) as conn:
            return {r.target: _calibration(r) for r in conn.execute(stmt)}

    def calibrated(self, infos: Sequence[TargetInfo]) -> list[TargetInfo]:
        """``infos`` with their current calibrations."""
        current = self.current_calibrations([i.name for i in infos])
        return [apply(i, current[i.name]) if i.name in current else i for i in infos]

    def add_calibration(
        self,
        info: TargetInfo,
        source: CalibrationSource,
        actor: UserPrincipal | None = None,
    ) -> tuple[Calibration, bool]:
        """Store ``info``'s calibration as ``info.name``'s newest; whether it is new.

        A snapshot whose id the target already has is not stored again (its stored one
        is given back). An admin's post is recorded in the audit log.
        """
        calibration_id = info.calibration_id
        if calibration_id is None:
            raise ApiError(422, "validation_error", f"target {info.name!r} has no calibration id")
        now = utcnow()
        try:
            with write(self.engine) as conn:
                found = self._find(conn, info.name, calibration_id)
                if found is not None:
                    return found, False
                conn.execute(
                    insert(calibrations).values(
                        target=info.name,
                        calibration_id=calibration_id,
                        taken_at=now,
                        source=source.value,
                        snapshot=_snapshot(info),
                    )
                )
                if actor is not None:
                    audit_log.record(
                        conn,
                        actor,
                        "target.calibration.post",
                        info.name,
                        {"calibration_id": calibration_id},
                    )
                stored = self._find(conn, info.name, calibration_id)
        except IntegrityError:  # another replica stored the same snapshot meanwhile
            with read(self.engine) as conn:
                stored = self._find(conn, info.name, calibration_id)
            assert stored is not None
            return stored, False
        assert stored is not None
        return stored, True

    def get_calibration(self, target: str, calibration_id: str) -> Calibration:
        """One stored snapshot of ``target``; 404 naming it if there is none."""
        self._seed()
        with read(self.engine) as conn:
            found = self._find(conn, target, calibration_id)
        if found is None:
            raise ApiError(
                404, "not_found", f"calibration_id: target {target!r} has no {calibration_id!r}"
            )
        return found

    def calibration_page(self, target: str, query: CalibrationQuery) -> CalibrationPage:
        """A page of ``target``'s history, oldest first, filtered by time."""
        self._seed()
        stmt = (
            select(calibrations)
            .where(calibrations.c.target == target)
            .order_by(calibrations.c.id)
            .limit(query.limit + 1)
        )
        if query.after is not None:
            stmt = stmt.where(calibrations.c.taken_at >= query.after)
        if query.before is not None:
            stmt = stmt.where(calibrations.c.taken_at < query.before)
        if query.cursor is not None:
            stmt = stmt.where(calibrations.c.id > int(query.cursor))
        with read(self.engine) as conn:
            found = conn.execute(stmt).all()
        more = len(found) > query.limit
        found = found[: query.limit]
        return CalibrationPage(
            calibrations=[_calibration(r) for r in found],
            next_cursor=str(found[-1].id) if more else None,
        )

    @staticmethod
    def _find(conn: Connection, target: str, calibration_id: str) -> Calibration | None:
        row = conn.execute(
            select(calibrations).where(
                calibrations.c.target == target,
                calibrations.c.calibration_id == calibration_id,
            )
        ).first()
        return None if row is None else _calibration(row)
