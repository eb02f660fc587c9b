"""The ``qiskit-transpile`` compiler: payload circuits onto a target's native ops and couplings.

The payload goes to Qiskit (its typed variables as the hidden registers of
:func:`~qrelay.payload.lowering.hide_variables`, which the transpiler can carry), through a
preset pass manager (the job's optimization level,
else 1) built for the target's Qiskit ``Target``, and back. Pass managers are cached per
``(target name, calibration_id, level)``, so compiling many circuits for one device builds
one.
A simulator target with no native ops and no coupling map takes any circuit: compiling
is a no-op with identity layouts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final

from qrelay.errors import PayloadError
from qrelay.payload import Circuit, TargetInfo
from qrelay.plugins import CompileResult

_CACHE_SIZE: Final = 16


def _identity(n: int) -> dict[int, int]:
    return {q: q for q in range(n)}


class TranspileCompiler:
    """Compiles with Qiskit's transpiler (implements ``qrelay.plugins.Compiler``)."""

    def __init__(self, *, optimization_level: int = 1, seed: int | None = 1234) -> None:
        self.optimization_level = optimization_level
        self.seed = seed
        self._lock = threading.Lock()
        self._managers: OrderedDict[tuple[str, str | None, int], Any] = OrderedDict()

    def pass_manager(self, target: TargetInfo, optimization_level: int | None = None) -> Any:
        """The preset pass manager for ``target`` (cached per name, calibration and level)."""
        level = self.optimization_level if optimization_level is None else optimization_level
        key = (target.name, target.calibration_id, level)
        with self._lock:
            found = self._managers.get(key)
            if found is not None:
                self._managers.move_to_end(key)
                return found
        from qiskit.transpiler import generate_preset_pass_manager

        from qrelay_qiskit.target import build_target

        manager = generate_preset_pass_manager(
            optimization_level=level,
            target=build_target(target),
            seed_transpiler=self.seed,
        )
        with self._lock:
            self._managers[key] = manager
            while len(self._managers) > _CACHE_SIZE:
                self._managers.popitem(last=False)
        return manager

    def compile(
        self, circuit: Circuit, target: TargetInfo, *, optimization_level: int | None = None
    ) -> CompileResult:
        """``circuit`` in ``target``'s native ops on its physical qubits, with layouts."""
        if not target.native_ops and target.coupling_map is None:
            if circuit.num_qubits > target.num_qubits:
                raise PayloadError(
                    f"circuit has {circuit.num_qubits} qubits; target {target.name!r} has "
                    f"{target.num_qubits}"
                )
            identity = _identity(circuit.num_qubits)
            return CompileResult(circuit=circuit, initial_layout=identity, final_layout=identity)
        if circuit.num_qubits > target.num_qubits:
            raise PayloadError(
                f"circuit has {circuit.num_qubits} qubits; target {target.name!r} has only "
                f"{target.num_qubits}"
            )
        from qrelay.payload.lowering import hide_variables
        from qrelay_qiskit.convert import from_qiskit, to_qiskit

        qc = to_qiskit(hide_variables(circuit))
        try:
            compiled = self.pass_manager(target, optimization_level).run(qc)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # TranspilerError and others, and a Rust panic
            raise PayloadError(
                f"circuit {circuit.name or ''!r} cannot be compiled for {target.name!r}: {exc}"
            ) from exc
        initial, final = _layouts(compiled, circuit.num_qubits)
        payload = from_qiskit(compiled)
        updates: dict[str, Any] = {"name": circuit.name}
        if circuit.layout is not None:
            updates["layout"] = circuit.layout
        user_meta = {k: v for k, v in circuit.metadata.items() if not k.startswith("qiskit.")}
        if user_meta:
            updates["metadata"] = {**payload.metadata, **user_meta}
        return CompileResult(
            circuit=payload.model_copy(update=updates),
            initial_layout=initial,
            final_layout=final,
        )


def _layouts(compiled: Any, num_logical: int) -> tuple[dict[int, int], dict[int, int]]:
    """Logical-to-physical maps before and after routing, from Qiskit's ``TranspileLayout``."""
    layout = compiled.layout
    if layout is None:
        identity = _identity(num_logical)
        return identity, dict(identity)
    initial = layout.initial_index_layout(filter_ancillas=True)
    final = layout.final_index_layout(filter_ancillas=True)
    return (
        {q: int(p) for q, p in enumerate(initial[:num_logical])},
        {q: int(p) for q, p in enumerate(final[:num_logical])},
    )
