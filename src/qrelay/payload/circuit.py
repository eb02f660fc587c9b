"""The canonical circuit of payload.v1 and v2, its bindings table and its validation.

Instructions are plain typed dicts, not one pydantic model each: a 2,000-instruction
circuit dumps in pydantic-core's Rust loop, and the semantic checks (qubit ranges, arity,
declared symbols) are one Python pass over the dicts. Parsed from JSON, the instructions
are not typed by pydantic first: that pass checks their types as well (see
:class:`CheckedAfterJsonParse`). Reading and writing a circuit thus costs one pass over
its instructions each way (figures: "Design measurements" in ``docs/performance.md``).

Classical bits are addressed by a global index over the registers in declaration order:
register ``registers[0]`` holds clbits ``0 .. size0-1``, the next one follows, and so on.
Control-flow blocks (payload.v2's loops, ``switch`` and classical expressions) are
described, and checked beyond their shape, in :mod:`qrelay.payload.control`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Final, NotRequired, Required, Self

import numpy as np
from pydantic import (
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    JsonValue,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    with_config,
)
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypedDict

from qrelay.errors import PayloadError
from qrelay.payload import control, expressions
from qrelay.payload._base import CheckedModel, WireModel
from qrelay.payload.classical import MAX_VARIABLES, ClassicalExpr, ClassicalVar
from qrelay.payload.expressions import Expr, ExprNode  # noqa: F401  (resolves Expr)
from qrelay.payload.observables import MAX_OBSERVABLES, Observable, check_observables
from qrelay.payload.parsing import parsed_from_json

#: Tolerance of the unitarity check of ``unitary`` matrices (max |U†U - I|).
UNITARY_ATOL: Final = 1e-6

#: Size limits of one circuit. They bound the memory a single request can claim; a
#: target may set tighter ones in its ``TargetLimits``.
MAX_QUBITS: Final = 10_000
MAX_INSTRUCTIONS: Final = 1_000_000  # in total, the bodies of blocks included
MAX_REGISTERS: Final = 10_000
MAX_REGISTER_SIZE: Final = 100_000
MAX_PARAMETERS: Final = 100_000
#: Size limits of one bindings table (rows, and rows x columns).
MAX_BINDING_ROWS: Final = 1_000_000
MAX_BINDING_CELLS: Final = 10_000_000

_NAME = r"^[A-Za-z_][A-Za-z0-9_\[\].:\-]*$"


@with_config(ConfigDict(extra="forbid"))
class Condition(TypedDict, total=False):
    """The test of an ``if``: a register (or one clbit) compared with an integer value.

    Exactly one of ``register`` and ``clbit`` is given. A register's value reads bit 0 as
    the least significant bit.
    """

    register: str
    clbit: int
    value: Required[int]


@with_config(ConfigDict(extra="forbid"))
class SwitchCase(TypedDict):
    """One case of a ``switch``: the values that select it and its body."""

    values: list[int]
    body: list[Instruction]


@with_config(ConfigDict(extra="forbid"))
class Instruction(TypedDict):
    """One instruction: ``{"op", "qubits", "params"?, "clbits"?, ...}``.

    ``unit`` belongs to ``delay``; ``matrix`` to ``unitary`` (rows of ``[re, im]`` pairs);
    ``condition``, ``body`` and ``else_body`` to ``if``. The fields of payload.v2's
    control flow (``test``, ``cases``, ``default``, ``loop_*``, ``lvalue``, ``rvalue``)
    are described in :mod:`qrelay.payload.control`.
    """

    op: str
    qubits: list[int]
    params: NotRequired[list[Expr]]
    clbits: NotRequired[list[int]]
    unit: NotRequired[str]
    matrix: NotRequired[list[list[tuple[float, float]]]]
    condition: NotRequired[Condition]
    body: NotRequired[list[Instruction]]
    else_body: NotRequired[list[Instruction]]
    test: NotRequired[ClassicalExpr]
    cases: NotRequired[list[SwitchCase]]
    default: NotRequired[list[Instruction]]
    loop_range: NotRequired[tuple[int, int, int]]
    loop_values: NotRequired[list[int]]
    loop_parameter: NotRequired[str]
    lvalue: NotRequired[ClassicalExpr]
    rvalue: NotRequired[ClassicalExpr]
    label: NotRequired[str]


class CheckedAfterJsonParse:
    """Marks the instruction list: typed by pydantic from Python, taken as parsed from JSON.

    Parsed from JSON, the list is made of fresh dicts, lists, strings and numbers, and the
    circuit's checker must walk every instruction anyway. It checks their types on that
    walk, and hands the few instructions its fast path does not accept to pydantic's
    typed validation (:func:`qrelay.payload.checking.instruction_adapter`), which coerces or
    names the field at
    fault. That spares pydantic's typed pass over every instruction, and reading a large
    circuit from JSON takes less work (figures: "Design measurements" in
    ``docs/performance.md``). From Python the caller's objects may be
    shared or of any type, so they are validated, and copied, as typed, unless the
    validation context says they too are fresh from JSON
    (:func:`qrelay.payload.parsing.validate_json`).

    Serialisation and the JSON schema are those of the typed list.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        typed = handler(source)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.any_schema(),
            python_schema=core_schema.with_info_wrap_validator_function(
                _typed_unless_parsed, typed
            ),
            metadata={"pydantic_js_annotation_functions": [lambda _c, h: h(typed)]},
        )


def _typed_unless_parsed(
    value: Any, typed: ValidatorFunctionWrapHandler, info: ValidationInfo
) -> Any:
    return value if parsed_from_json(info) else typed(value)


class Register(WireModel):
    """A named register of ``size`` bits (classical) or qubits (quantum, for round trips)."""

    name: Annotated[str, Field(min_length=1, max_length=128, pattern=_NAME)]
    size: Annotated[int, Field(ge=0, le=MAX_REGISTER_SIZE)]


class KeyLayout(WireModel):
    """Where a register's readout goes in a framework's own result.

    For Cirq, ``key`` is the measurement key and ``instance`` which repetition of that key
    in the circuit this register holds (0 for the first). ``inverted`` lists the register
    bits whose value Cirq's ``invert_mask`` flips.
    """

    register_name: str
    key: str | None = None
    instance: Annotated[int, Field(ge=0)] = 0
    qubits: list[str] | None = None
    #: Register bits (0-based) that Cirq's ``invert_mask`` flips. Readouts carry the raw
    #: measured bits; a Cirq result decoder flips these to give Cirq's values.
    inverted: list[int] | None = None


class Bindings(CheckedModel):
    """A sweep as a table: one column per symbol, one row per point.

    ``values[i][j]`` is the value of ``names[j]`` at point ``i``. A circuit with bindings
    runs once per row, and its results come back per row.
    """

    # Non-finite values reach the check below, whose message names the row and symbol.
    model_config = ConfigDict(allow_inf_nan=True)

    names: Annotated[list[str], Field(max_length=MAX_PARAMETERS)]
    values: Annotated[list[list[float]], Field(max_length=MAX_BINDING_ROWS)]

    def _check(self, info: ValidationInfo) -> Self:
        """The table is rectangular, its symbols named once."""
        if len(set(self.names)) != len(self.names):
            raise PayloadError("bindings.names: a symbol is named twice")
        width = len(self.names)
        if width * len(self.values) > MAX_BINDING_CELLS:
            raise PayloadError(
                f"bindings.values: {len(self.values)} rows x {width} names exceed the limit "
                f"of {MAX_BINDING_CELLS} values"
            )
        for row, point in enumerate(self.values):
            if len(point) != width:
                raise PayloadError(
                    f"bindings.values[{row}]: has {len(point)} values for {width} names "
                    "(the table must be rectangular)"
                )
        if self.values:
            array = np.asarray(self.values, dtype=float)
            if not np.isfinite(array).all():
                row, col = (int(i) for i in np.argwhere(~np.isfinite(array))[0])
                raise PayloadError(
                    f"bindings.values[{row}][{col}] ({self.names[col]}): value is not finite"
                )
        return self

    def __len__(self) -> int:
        return len(self.values)

    def rows(self) -> Iterator[dict[str, float]]:
        """Each point as a mapping from symbol to value."""
        for point in self.values:
            yield dict(zip(self.names, point, strict=True))


def _is_empty(value: list[ClassicalVar]) -> bool:
    return not value


class Circuit(CheckedModel):
    """A circuit in payload.v1: qubits, classical registers, symbols and instructions.

    Validated as a whole: a circuit is accepted entirely or refused with an error naming
    the instruction index, op, qubit, register or symbol at fault.
    """

    # Non-finite numbers reach the checker, whose message names the instruction.
    model_config = ConfigDict(allow_inf_nan=True)

    num_qubits: Annotated[int, Field(ge=0, le=MAX_QUBITS)]
    registers: Annotated[list[Register], Field(max_length=MAX_REGISTERS)] = []
    parameters: Annotated[list[str], Field(max_length=MAX_PARAMETERS)] = []
    instructions: Annotated[
        list[Instruction], Field(max_length=MAX_INSTRUCTIONS), CheckedAfterJsonParse()
    ] = []
    global_phase: Expr = 0.0
    name: str | None = None
    metadata: dict[str, JsonValue] = {}
    qubit_registers: list[Register] | None = None
    qubit_labels: list[str] | None = None
    layout: list[KeyLayout] | None = None
    #: Pauli sums whose exact expectation values the target returns instead of shots
    #: (see :mod:`qrelay.payload.observables`); ``None`` (left out of the JSON): a circuit
    #: that is sampled.
    observables: Annotated[
        list[Observable] | None,
        Field(max_length=MAX_OBSERVABLES, exclude_if=lambda value: value is None),
    ] = None
    #: Typed classical variables (payload.v2), zero or false until a ``store`` sets them.
    #: Left out of the wire when empty, so a payload.v1 circuit reads as it always did.
    variables: Annotated[
        list[ClassicalVar], Field(max_length=MAX_VARIABLES, exclude_if=_is_empty)
    ] = []

    @property
    def num_clbits(self) -> int:
        return sum(reg.size for reg in self.registers)

    def register_offsets(self) -> dict[str, tuple[int, int]]:
        """Register name to ``(first global clbit, size)``."""
        offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for reg in self.registers:
            offsets[reg.name] = (start, reg.size)
            start += reg.size
        return offsets

    def clbit_location(self, clbit: int) -> tuple[str, int]:
        """The ``(register, bit)`` a global clbit index names."""
        for name, (start, size) in self.register_offsets().items():
            if start <= clbit < start + size:
                return name, clbit - start
        raise PayloadError(f"clbit {clbit} is outside every register")

    def measurements(self) -> list[tuple[int, int, str, int]]:
        """Every top-level measurement as ``(instruction index, qubit, register, bit)``."""
        found = []
        for index, inst in enumerate(self.instructions):
            if inst["op"] == "measure":
                register, bit = self.clbit_location(inst["clbits"][0])
                found.append((index, inst["qubits"][0], register, bit))
        return found

    def iter_instructions(self) -> Iterator[Instruction]:
        """All instructions, the bodies of blocks included, depth first."""
        stack = list(reversed(self.instructions))
        while stack:
            inst = stack.pop()
            yield inst
            if inst["op"] in control.BLOCK_OPS:
                for _, body in reversed(control.blocks(inst)):
                    stack.extend(reversed(body))

    def free_symbols(self) -> set[str]:
        """The symbols the instructions and the global phase read (loop parameters not)."""
        found = expressions.symbols(self.global_phase)
        loop_parameters = set()
        for inst in self.iter_instructions():
            if "loop_parameter" in inst:
                loop_parameters.add(inst["loop_parameter"])
            for param in inst.get("params", ()):
                if not isinstance(param, int | float):
                    found |= expressions.symbols(param)
        return found - loop_parameters

    def _check(self, info: ValidationInfo) -> Self:
        """Every instruction checked against the circuit (see :mod:`qrelay.payload.checking`),
        and its observables against its qubits."""
        # From JSON the instructions arrive as parsed, not typed (see CheckedAfterJsonParse):
        # the checker then checks their types too.
        from qrelay.payload.checking import CircuitChecker  # it reads this module's types

        CircuitChecker(self, typed=not parsed_from_json(info)).run()
        if self.observables is not None:
            ops = (inst["op"] for inst in self.iter_instructions())
            check_observables(self.observables, self.num_qubits, ops)
        return self


def matrix_to_wire(matrix: Any) -> list[list[tuple[float, float]]]:
    """A complex square matrix as the rows of ``[re, im]`` pairs a ``unitary`` carries."""
    array = np.asarray(matrix, dtype=complex)
    return [[(float(z.real), float(z.imag)) for z in row] for row in array]


def matrix_from_wire(
    rows: list[list[tuple[float, float]]],
) -> np.ndarray[Any, np.dtype[np.complex128]]:
    """The complex matrix of a ``unitary`` instruction."""
    array = np.asarray(rows, dtype=float)
    return array[..., 0] + 1j * array[..., 1]
