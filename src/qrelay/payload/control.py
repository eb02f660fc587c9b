"""Control-flow blocks of a payload circuit: where their bodies are and how they are checked.

payload.v1 knew one block, ``if`` on a register or clbit value. payload.v2 adds::

    {"op": "if", "qubits": [], "test": <expr>, "body": [...], "else_body": [...]}
    {"op": "while", "qubits": [], "test": <expr>, "body": [...]}
    {"op": "for", "qubits": [], "loop_range": [start, stop, step], "loop_parameter": "i",
     "body": [...]}                            (or "loop_values": [0, 2, 5])
    {"op": "switch", "qubits": [], "test": <expr>,
     "cases": [{"values": [0, 1], "body": [...]}], "default": [...]}
    {"op": "break", "qubits": []}  {"op": "continue", "qubits": []}
    {"op": "store", "qubits": [], "lvalue": <clbit, register or var>, "rvalue": <expr>}

``test``, ``lvalue`` and ``rvalue`` are classical expressions
(:mod:`qrelay.payload.classical`). A ``while`` runs at most the target's
``limits.max_loop_iterations`` times per shot: the engine fails the run when a shot
reaches that bound. A ``for`` loop's parameter is a symbol its body's gate parameters may
read, bound to each value in turn. ``break`` and ``continue`` belong inside a loop.

Every walker over instructions (the limits, the capability checks, the converters) finds
the bodies through :func:`blocks`, and a ``for`` body's weight through :func:`iterations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from qrelay.errors import PayloadError
from qrelay.payload._base import PAYLOAD_V2, PAYLOAD_VERSION
from qrelay.payload.ops import OpKind

if TYPE_CHECKING:
    from qrelay.payload.circuit import Circuit, Instruction
    from qrelay.payload.classical import Scope


class Checker(Protocol):
    """What :func:`check` needs of the circuit's checker
    (:class:`qrelay.payload.checking.CircuitChecker`)."""

    scope: Scope
    declared: frozenset[str]
    nesting: int
    loops: int

    def block(self, instructions: list[Instruction], prefix: str, typed: bool) -> None: ...

    def condition(self, cond: Any, where: str) -> None: ...


#: The block ops, the jumps out of a loop, and the ops that need payload.v2.
BLOCK_OPS: Final = frozenset({"if", "while", "for", "switch"})
LOOP_OPS: Final = frozenset({"while", "for"})
JUMP_OPS: Final = frozenset({"break", "continue"})
V2_OPS: Final = frozenset({"while", "for", "switch", "break", "continue", "store"})
#: Every op that reads or writes classical values at run time (feed-forward).
CONTROL_FLOW_OPS: Final = BLOCK_OPS | JUMP_OPS | {"store"}
_V2_NAMES: Final = V2_OPS | {"test"}
#: The fields of instructions that only control flow carries.
CONTROL_FIELDS: Final = (
    "condition",
    "test",
    "body",
    "else_body",
    "cases",
    "default",
    "loop_range",
    "loop_values",
    "loop_parameter",
    "lvalue",
    "rvalue",
)
#: The fields each control op may carry (besides ``op``, ``qubits`` and ``label``).
FIELDS: Final = {
    "if": frozenset({"condition", "test", "body", "else_body"}),
    "while": frozenset({"condition", "test", "body"}),
    "for": frozenset({"loop_range", "loop_values", "loop_parameter", "body"}),
    "switch": frozenset({"test", "cases", "default"}),
    "break": frozenset(),
    "continue": frozenset(),
    "store": frozenset({"lvalue", "rvalue"}),
}
#: The most values one ``for`` loop may run over, and cases one ``switch`` may hold.
MAX_LOOP_VALUES: Final = 1_000_000
MAX_CASES: Final = 10_000
#: The deepest nesting of blocks accepted.
MAX_NESTING: Final = 64


def blocks(inst: Instruction) -> list[tuple[str, list[Instruction]]]:
    """The bodies of a block op as ``(path, instructions)``; none for any other op.

    ``path`` names the body in errors: ``body``, ``else_body``, ``cases.1.body``,
    ``default``.
    """
    op = inst["op"]
    if op not in BLOCK_OPS:
        return []
    found: list[tuple[str, list[Instruction]]] = []
    if "body" in inst:
        found.append(("body", inst["body"]))
    if "else_body" in inst:
        found.append(("else_body", inst["else_body"]))
    for number, case in enumerate(inst.get("cases", ())):
        found.append((f"cases.{number}.body", case["body"]))
    if "default" in inst:
        found.append(("default", inst["default"]))
    return found


def loop_values(inst: Instruction) -> Sequence[int]:
    """The values a ``for`` loop's parameter takes, in order."""
    if "loop_range" in inst:
        start, stop, step = inst["loop_range"]
        return range(start, stop, step)
    return inst.get("loop_values", [])


def iterations(inst: Instruction) -> int:
    """How many times a block's bodies count: a ``for`` loop's values, else once.

    A ``while`` counts once: how often it runs is bounded per shot by the target's
    ``max_loop_iterations``, not by the program's size.
    """
    return len(loop_values(inst)) if inst["op"] == "for" else 1


def weighted_count(instructions: Sequence[Instruction]) -> int:
    """The instructions of a block, each ``for`` body counted once per value it runs."""
    total = len(instructions)
    if BLOCK_OPS.isdisjoint({inst["op"] for inst in instructions}):
        return total  # no block: nothing more to walk
    for inst in instructions:
        if inst["op"] in BLOCK_OPS:
            bodies = blocks(inst)
            total += iterations(inst) * sum(weighted_count(body) for _, body in bodies)
    return total


#: The name :func:`op_names` gives a block whose condition is a classical expression.
TEST: Final = "test"


def op_names(instructions: Sequence[Instruction]) -> set[str]:
    """The ops of ``instructions`` and of their bodies, and :data:`TEST` when a block's
    condition is a classical expression.

    One set built per block, bodies walked only where a block is: a circuit without
    control flow costs one pass in a comprehension.
    """
    names = {inst["op"] for inst in instructions}
    if BLOCK_OPS.isdisjoint(names):
        return names
    for inst in instructions:
        if inst["op"] in BLOCK_OPS:
            if TEST in inst:
                names.add(TEST)
            for _, body in blocks(inst):
                names |= op_names(body)
    return names


def read_clbits(circuit: Circuit) -> set[int]:
    """The global clbits that the program's control flow reads as it runs: in conditions,
    tests (of ``if``, ``while`` and ``switch``) and the values ``store`` writes."""
    offsets = circuit.register_offsets()
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "clbit" in node and isinstance(node["clbit"], int):
                found.add(node["clbit"])
            if "register" in node and node["register"] in offsets:
                start, size = offsets[node["register"]]
                found.update(range(start, start + size))
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    for inst in circuit.iter_instructions():
        for field in ("condition", "test", "rvalue"):
            if field in inst:
                walk(inst[field])
    return found


def needs_v2(inst: Instruction) -> bool:
    """True for an instruction that payload.v1 does not have."""
    return inst["op"] in V2_OPS or TEST in inst


def required_version(circuits: Iterable[Circuit]) -> str:
    """The oldest payload version that reads all of ``circuits``.

    Circuits without the control flow of payload.v2 stay payload.v1, so readers that
    know only payload.v1 keep reading them.
    """
    for circuit in circuits:
        if circuit.variables or not _V2_NAMES.isdisjoint(op_names(circuit.instructions)):
            return PAYLOAD_V2
    return PAYLOAD_VERSION


def first_v2(circuits: Iterable[Circuit]) -> str | None:
    """Where the first payload.v2 feature of ``circuits`` is, for an error; ``None``: none."""
    for number, circuit in enumerate(circuits):
        if circuit.variables:
            return f"circuits[{number}].variables"
        for inst in circuit.iter_instructions():
            if needs_v2(inst):
                return f"circuits[{number}]: op {inst['op']!r}" + (
                    " with a 'test' expression" if inst["op"] == "if" else ""
                )
    return None


def check_loop_header(inst: Instruction, where: str, declared: frozenset[str]) -> None:
    """Refuse a ``for`` loop without exactly one of its value forms, or a bad parameter."""
    has_range = "loop_range" in inst
    if has_range == ("loop_values" in inst):
        raise PayloadError(f"{where}: give exactly one of 'loop_range' or 'loop_values'")
    if has_range:
        start, stop, step = inst["loop_range"]
        if step == 0:
            raise PayloadError(f"{where}: loop_range step is zero")
        count = len(range(start, stop, step))
    else:
        count = len(inst["loop_values"])
    if count > MAX_LOOP_VALUES:
        raise PayloadError(f"{where}: {count} loop values exceed the limit of {MAX_LOOP_VALUES}")
    parameter = inst.get("loop_parameter")
    if parameter is not None and parameter in declared:
        raise PayloadError(
            f"{where}: loop_parameter {parameter!r} is already a symbol of the circuit"
        )


def check_fields(inst: Instruction, where: str) -> None:
    """Refuse a control-flow field that does not belong to the op."""
    allowed = FIELDS.get(inst["op"], frozenset())
    for key in CONTROL_FIELDS:
        if key in inst and key not in allowed:
            raise PayloadError(f"{where}: field {key!r} does not belong to this op")
    if inst["op"] in ("if", "while"):
        if "condition" in inst and "test" in inst:
            raise PayloadError(f"{where}: give one of 'condition' or 'test', not both")
        if "condition" not in inst and "test" not in inst:
            raise PayloadError(f"{where}: {inst['op']!r} needs a condition or a test")
    if inst["op"] == "switch":
        if "test" not in inst:
            raise PayloadError(f"{where}: 'switch' needs a 'test' expression")
        if len(inst.get("cases", ())) > MAX_CASES:
            raise PayloadError(f"{where}: more than {MAX_CASES} cases")
    if inst["op"] == "store" and ("lvalue" not in inst or "rvalue" not in inst):
        raise PayloadError(f"{where}: 'store' needs an 'lvalue' and an 'rvalue'")


def check(checker: Checker, inst: Instruction, kind: OpKind, where: str, path: str) -> None:
    """The checks of a block, a jump or a store beyond its fields' types, and its bodies
    (through ``checker``, the circuit's one pass)."""
    op = inst["op"]
    check_fields(inst, where)
    if inst["qubits"]:
        raise PayloadError(f"{where}: {op!r} takes no qubits of its own; use its body")
    if kind is OpKind.JUMP:
        if not checker.loops:
            raise PayloadError(f"{where}: {op!r} is outside every loop")
        return
    if kind is OpKind.STORE:
        target = checker.scope.check_lvalue(inst["lvalue"], f"{where} lvalue")
        value = checker.scope.type_of(inst["rvalue"], f"{where} rvalue")
        if target.kind != value.kind:
            raise PayloadError(f"{where}: stores a {value} into a {target}; cast it")
        return
    if "condition" in inst:
        checker.condition(inst["condition"], where)
    elif op in ("if", "while"):
        checker.scope.check_condition(inst["test"], f"{where} test")
    if op == "switch":
        _cases(checker, inst, where)
    if checker.nesting >= MAX_NESTING:
        raise PayloadError(f"{where}: blocks nest deeper than {MAX_NESTING}")
    declared = checker.declared
    if op == "for":
        check_loop_header(inst, where, declared)
        if "loop_parameter" in inst:
            checker.declared = declared | {inst["loop_parameter"]}
    loop = op in LOOP_OPS
    checker.nesting += 1
    checker.loops += loop
    try:
        # The bodies were typed with their block (by :meth:`one` or from Python).
        for name, body in blocks(inst):
            checker.block(body, f"{path}{name}.", True)
    finally:
        checker.nesting -= 1
        checker.loops -= loop
        checker.declared = declared


def _cases(checker: Checker, inst: Instruction, where: str) -> None:
    """Refuse a case value that the switch's subject cannot take, or one given twice."""
    subject = checker.scope.type_of(inst["test"], f"{where} test")
    seen: set[int] = set()
    for number, case in enumerate(inst.get("cases", [])):
        if not case["values"]:
            raise PayloadError(f"{where}: case {number} has no values")
        for value in case["values"]:
            if not 0 <= value < (1 << subject.width):
                raise PayloadError(f"{where}: case {number} value {value} does not fit {subject}")
            if value in seen:
                raise PayloadError(f"{where}: case value {value} is given twice")
            seen.add(value)
