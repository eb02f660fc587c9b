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

import math
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Final, NotRequired, Required

import numpy as np
from pydantic import (
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    JsonValue,
    TypeAdapter,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    model_validator,
    with_config,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypedDict

from qrelay.errors import PayloadError
from qrelay.payload import control, expressions
from qrelay.payload._base import WireModel
from qrelay.payload.classical import MAX_VARIABLES, ClassicalExpr, ClassicalVar, Scope
from qrelay.payload.expressions import Expr, ExprNode  # noqa: F401  (resolves Expr)
from qrelay.payload.observables import MAX_OBSERVABLES, Observable, check_observables
from qrelay.payload.ops import DELAY_UNITS, OPS, OpKind
from qrelay.payload.parsing import parsed_from_json, payload_error

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

#: Gate name to (qubits, parameters), for the fast path of the checker.
_FAST_GATES: Final = {
    name: (spec.num_qubits, spec.num_params)
    for name, spec in OPS.items()
    if spec.kind is OpKind.GATE and spec.num_qubits is not None
}


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
    typed validation (:func:`_instruction_adapter`), which coerces or names the field at
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


@cache
def _instruction_adapter() -> TypeAdapter[Instruction]:
    """The typed validation of one instruction, for those the checker's fast path refuses."""
    return TypeAdapter(Instruction)


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


class Bindings(WireModel):
    """A sweep as a table: one column per symbol, one row per point.

    ``values[i][j]`` is the value of ``names[j]`` at point ``i``. A circuit with bindings
    runs once per row, and its results come back per row.
    """

    # Non-finite values reach the check below, whose message names the row and symbol.
    model_config = ConfigDict(allow_inf_nan=True)

    names: Annotated[list[str], Field(max_length=MAX_PARAMETERS)]
    values: Annotated[list[list[float]], Field(max_length=MAX_BINDING_ROWS)]

    @model_validator(mode="after")
    def _rectangular(self) -> Bindings:
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


class Circuit(WireModel):
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

    @model_validator(mode="after")
    def _validate(self, info: ValidationInfo) -> Circuit:
        # From JSON the instructions arrive as parsed, not typed (see CheckedAfterJsonParse):
        # the checker then checks their types too.
        _Checker(self, typed=not parsed_from_json(info)).run()
        if self.observables is not None:
            ops = (inst["op"] for inst in self.iter_instructions())
            check_observables(self.observables, self.num_qubits, ops)
        return self


class _Checker:
    """One pass over a circuit that raises on the first fault, naming where it is."""

    def __init__(self, circuit: Circuit, *, typed: bool = True) -> None:
        self.circuit = circuit
        #: False when the instructions come as parsed from JSON, their types unchecked.
        self.typed = typed
        self.num_qubits = circuit.num_qubits
        self.num_clbits = circuit.num_clbits
        self.declared = frozenset(circuit.parameters)
        self.offsets = circuit.register_offsets()
        self.count = 0
        self.scope = Scope(
            self.num_clbits,
            {name: size for name, (_, size) in self.offsets.items()},
            {var.name: var.classical_type for var in circuit.variables},
        )
        #: How deep in blocks, and in loops, the instruction being checked is.
        self.nesting = 0
        self.loops = 0

    def run(self) -> None:
        c = self.circuit
        if len(self.declared) != len(c.parameters):
            raise PayloadError("parameters: a symbol is declared twice")
        if len(self.offsets) != len(c.registers):
            raise PayloadError("registers: a register name is used twice")
        if len(self.scope.variables) != len(c.variables):
            raise PayloadError("variables: a variable name is used twice")
        if c.qubit_labels is not None and len(c.qubit_labels) != c.num_qubits:
            raise PayloadError(
                f"qubit_labels: {len(c.qubit_labels)} labels for {c.num_qubits} qubits"
            )
        if c.qubit_registers is not None:
            total = sum(reg.size for reg in c.qubit_registers)
            if total != c.num_qubits:
                raise PayloadError(
                    f"qubit_registers: sizes add up to {total}, not num_qubits={c.num_qubits}"
                )
        if c.layout is not None:
            for entry in c.layout:
                if entry.register_name not in self.offsets:
                    raise PayloadError(f"layout: unknown register {entry.register_name!r}")
        expressions.check(c.global_phase, self.declared, "global_phase")
        if type(c.instructions) is not list:
            raise PayloadError(
                f"instructions: must be a list, not {type(c.instructions).__name__}",
                location=("instructions",),
            )
        self.block(c.instructions, "", self.typed)

    def block(self, instructions: list[Instruction], prefix: str, typed: bool) -> None:
        """Check instructions: a fast path for plain gates and measurements, the full check else.

        The fast path only accepts, and checks types as it goes (``type(q) is int``), so it
        also accepts instructions as parsed from JSON. Anything it is unsure of (a non-gate
        op, an extra field, a symbol, a wrong type, a fault) goes through :meth:`one`, which
        types the instruction where ``typed`` is false and raises the error that names the
        fault. So both paths accept exactly the same instructions.

        Kept as one loop, longer than most functions here: it runs once per instruction of
        every circuit the service, the workers and the front ends read, so the fast path is
        written in line rather than through calls.
        """
        self.count += len(instructions)
        if self.count > MAX_INSTRUCTIONS:
            raise PayloadError(
                f"instructions: more than {MAX_INSTRUCTIONS} instructions (block bodies included)"
            )
        n = self.num_qubits
        fast = _FAST_GATES
        declared = self.declared
        num_clbits = self.num_clbits
        one = self.one
        for index, inst in enumerate(instructions):
            try:
                if type(inst) is not dict:
                    raise TypeError
                op = inst["op"]
                entry = fast.get(op)
                if entry is None:
                    # A measurement with its one qubit and one clbit in range, and nothing else.
                    if op == "measure" and len(inst) == 3:
                        qubits = inst["qubits"]
                        clbits = inst["clbits"]
                        if len(qubits) == 1 and len(clbits) == 1:
                            q = qubits[0]
                            b = clbits[0]
                            if (
                                type(q) is int
                                and type(b) is int
                                and 0 <= q < n
                                and 0 <= b < num_clbits
                            ):
                                continue
                else:
                    nq, npar = entry
                    qubits = inst["qubits"]
                    # "op" and "qubits" are required and no other field is admitted: two
                    # fields is a bare gate, three with "params" a gate with parameters;
                    # anything else (a label, a stray field) takes the full check.
                    size = len(inst)
                    if size == 2:
                        ok = npar == 0
                    elif size == 3 and "params" in inst:
                        params = inst["params"]
                        if npar == 1 and len(params) == 1 and type(params[0]) is float:
                            first = params[0]  # most gates take one number: no call for it
                            ok = first - first == 0.0  # False for NaN and infinities
                        else:
                            ok = len(params) == npar and _plain_params(params, declared)
                    else:
                        ok = False
                    # Unpacking and chained comparisons beat ``set``/``min``/``max`` calls
                    # several times over; no gate acts on more than four qubits (a wider
                    # one would take the full check).
                    if ok and len(qubits) == nq:
                        if nq == 1:
                            a = qubits[0]
                            if type(a) is int and 0 <= a < n:
                                continue
                        elif nq == 2:
                            a, b = qubits
                            if (
                                type(a) is int
                                and type(b) is int
                                and a != b
                                and 0 <= a < n
                                and 0 <= b < n
                            ):
                                continue
                        elif nq == 3:
                            a, b, c = qubits
                            if (
                                type(a) is int
                                and type(b) is int
                                and type(c) is int
                                and a != b != c != a
                                and 0 <= a < n
                                and 0 <= b < n
                                and 0 <= c < n
                            ):
                                continue
                        elif nq == 4:
                            a, b, c, d = qubits
                            if (
                                type(a) is int
                                and type(b) is int
                                and type(c) is int
                                and type(d) is int
                                and a != b != c != d != a != c
                                and b != d
                                and 0 <= a < n
                                and 0 <= b < n
                                and 0 <= c < n
                                and 0 <= d < n
                            ):
                                continue
            except (TypeError, KeyError, ValueError):
                pass  # a field missing or of the wrong type: the full check names it
            checked = one(inst, prefix, index, typed)
            if checked is not inst:
                instructions[index] = checked

    def one(self, inst: Any, prefix: str, index: int, typed: bool) -> Instruction:
        """The full check of one instruction; raises on the first fault.

        Returns the instruction as checked: typed by pydantic where ``typed`` is false
        (so a JSON ``1`` among the parameters becomes ``1.0``).
        """
        if not typed:
            try:
                inst = _instruction_adapter().validate_python(inst)
            except PydanticValidationError as exc:
                # Only the top level comes untyped (bodies are typed with their ``if``).
                raise payload_error(exc, "Circuit", at=("instructions", index)) from exc
        num_qubits = self.num_qubits
        op = inst["op"]
        spec = OPS.get(op)
        where = f"instruction {prefix}{index} ({op})"
        if spec is None:
            raise PayloadError(
                f"instruction {prefix}{index}: unknown op {op!r}; see qrelay.payload.ops.OPS"
            )
        qubits = inst["qubits"]
        for q in qubits:
            if not 0 <= q < num_qubits:
                raise PayloadError(f"{where}: qubit {q} is out of range for {num_qubits} qubits")
        if len(set(qubits)) != len(qubits):
            raise PayloadError(f"{where}: a qubit is repeated in {qubits}")
        if spec.num_qubits is not None and len(qubits) != spec.num_qubits:
            raise PayloadError(f"{where}: takes {spec.num_qubits} qubit(s), got {len(qubits)}")
        params = inst.get("params", ())
        if len(params) != spec.num_params:
            raise PayloadError(
                f"{where}: takes {spec.num_params} parameter(s) {list(spec.params)}, "
                f"got {len(params)}"
            )
        for param in params:
            if type(param) is float:
                if not math.isfinite(param):
                    raise PayloadError(f"{where}: parameter value {param!r} is not finite")
            else:
                expressions.check(param, self.declared, where)
        kind = spec.kind
        clbits = inst.get("clbits")
        if kind is OpKind.MEASURE:
            if clbits is None or len(clbits) != 1:
                raise PayloadError(f"{where}: measure needs exactly one clbit")
            self.clbit(clbits[0], where)
        elif clbits:
            raise PayloadError(f"{where}: only measure writes clbits")
        if kind is not OpKind.GATE:
            self.special(inst, kind, where, prefix, index)
        else:
            self.forbid(inst, where, "unit", "matrix", *control.CONTROL_FIELDS)
        checked: Instruction = inst
        return checked

    def special(self, inst: Instruction, kind: OpKind, where: str, prefix: str, index: int) -> None:
        if kind is OpKind.DELAY:
            unit = inst.get("unit", "dt")
            if unit not in DELAY_UNITS:
                raise PayloadError(f"{where}: unit {unit!r} is not one of {sorted(DELAY_UNITS)}")
            duration = inst["params"][0]
            if isinstance(duration, int | float) and duration < 0:
                raise PayloadError(f"{where}: duration {duration} is negative")
            self.forbid(inst, where, "matrix", *control.CONTROL_FIELDS)
        elif kind is OpKind.UNITARY:
            self.forbid(inst, where, "unit", *control.CONTROL_FIELDS)
            self.matrix(inst, where)
        elif kind in (OpKind.CONTROL, OpKind.JUMP, OpKind.STORE):
            self.control(inst, kind, where, f"{prefix}{index}.")
        else:
            self.forbid(inst, where, "unit", "matrix", *control.CONTROL_FIELDS)
            if kind is OpKind.BARRIER and not inst["qubits"]:
                raise PayloadError(f"{where}: barrier needs at least one qubit")

    def control(self, inst: Instruction, kind: OpKind, where: str, path: str) -> None:
        """Check a block, a jump or a store, and the bodies of a block."""
        self.forbid(inst, where, "unit", "matrix")
        control.check(self, inst, kind, where, path)

    def clbit(self, clbit: int, where: str) -> None:
        if not 0 <= clbit < self.num_clbits:
            raise PayloadError(
                f"{where}: clbit {clbit} is out of range; the registers hold "
                f"{self.num_clbits} bit(s)"
            )

    def condition(self, cond: Condition | None, where: str) -> None:
        if cond is None:
            raise PayloadError(f"{where}: 'if' needs a condition or a test")
        has_register = "register" in cond
        if has_register == ("clbit" in cond):
            raise PayloadError(f"{where}: condition names exactly one of 'register' or 'clbit'")
        value = cond["value"]
        if has_register:
            name = cond["register"]
            if name not in self.offsets:
                raise PayloadError(f"{where}: condition reads unknown register {name!r}")
            size = self.offsets[name][1]
            if not 0 <= value < (1 << size):
                raise PayloadError(
                    f"{where}: value {value} does not fit register {name!r} of {size} bit(s)"
                )
        else:
            self.clbit(cond["clbit"], where)
            if value not in (0, 1):
                raise PayloadError(f"{where}: a clbit condition compares with 0 or 1")

    def matrix(self, inst: Instruction, where: str) -> None:
        rows = inst.get("matrix")
        if rows is None:
            raise PayloadError(f"{where}: unitary needs a matrix")
        n = len(inst["qubits"])
        dim = 1 << n
        if n == 0 or len(rows) != dim or any(len(row) != dim for row in rows):
            raise PayloadError(f"{where}: matrix must be {dim}x{dim} for {n} qubit(s)")
        array = np.asarray(rows, dtype=float)
        if not np.isfinite(array).all():
            raise PayloadError(f"{where}: matrix has a value that is not finite")
        u = array[..., 0] + 1j * array[..., 1]
        deviation = float(np.abs(u.conj().T @ u - np.eye(dim)).max())
        if deviation > UNITARY_ATOL:
            raise PayloadError(f"{where}: matrix is not unitary (max |U†U - I| = {deviation:.2e})")

    @staticmethod
    def forbid(inst: Instruction, where: str, *keys: str) -> None:
        for key in keys:
            if key in inst:
                raise PayloadError(f"{where}: field {key!r} does not belong to this op")


def _plain_params(params: list[Expr], declared: frozenset[str]) -> bool:
    """True when ``params`` is a list of finite floats and declared symbols (the fast path).

    ``False`` only sends the instruction to the full check, which names the fault.
    """
    if type(params) is not list:
        return False
    for param in params:
        if type(param) is float:
            if param - param != 0.0:  # NaN and infinities
                return False
        elif type(param) is not str or param not in declared:
            return False
    return True


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
