"""Target filtering shared by the Cirq front end's listing (``GetTargetsFilterModel``)."""

from __future__ import annotations

from typing import Any

from qrelay.payload import TargetModel


def filter_targets(
    models: list[TargetModel], name: str | None = None, **filters: Any
) -> list[TargetModel]:
    """Targets that pass ``GetTargetsFilterModel`` filters (plus ``name``), checked here.

    Filtering on this side keeps every provider usable, including ones that ignore filters.
    Unknown filter names are refused by name.
    """
    from qrelay.errors import ValidationError
    from qrelay.payload import GetTargetsFilterModel

    known = set(GetTargetsFilterModel.model_fields)
    unknown = sorted(set(filters) - known)
    if unknown:
        raise ValidationError(f"unknown target filter(s) {unknown}; known: {sorted(known)}")
    query = GetTargetsFilterModel(**filters)
    out = []
    for model in models:
        if name is not None and model.target_name != name:
            continue
        if query.simulator is not None and model.simulator != query.simulator:
            continue
        if query.supports_submit is not None and model.supports_submit != query.supports_submit:
            continue
        if query.supports_compile is not None and model.supports_compile != query.supports_compile:
            continue
        if query.available is not None and model.available != query.available:
            continue
        if query.retired is not None and model.retired != query.retired:
            continue
        if query.min_num_qubits is not None and model.num_qubits < query.min_num_qubits:
            continue
        out.append(model)
    return out
