"""A payload.v2 circuit rewritten for an engine: while loops bounded, variables as clbits.

An engine cannot let a ``while`` loop run forever, and some (Aer 0.18) cannot hold typed
classical variables. :func:`lower` rewrites a circuit into one that runs the same way
with neither problem, in the payload itself so every engine shares it:

- each variable becomes a hidden register (a ``bool`` one clbit, a ``uint`` its width);
- each ``while test: body`` becomes, with a hidden bit ``overran`` and a hidden counter
  ``turns`` (wide enough to hold ``bound``) of its own::

      store turns = 0
      while test:
          if turns == bound: store overran = true; break
          turns = turns + 1  (stores of its bits: Aer 0.18 has no addition)
          body

  so a shot that would take a turn past ``bound`` stops with its ``overran`` bit set. The
  user's ``test`` and the body's own ``break`` stay as they were: the test is nested no
  deeper than the user wrote it, so a test at the payload's depth limit still passes the
  lowered circuit's check. The loop stays a loop: a shot costs the turns it takes. (A
  ``for`` over ``range(bound)`` would do the same, but Aer unrolls a ``for`` into
  ``bound`` copies of its body, and on a noisy device, where Aer runs the shots one at a
  time, each shot pays for the copies: at the default bound of 1,000, a
  repeat-until-success program of two qubits took about 2.5 s a run on the ideal
  simulator and 90 ms a shot on a noisy emulated device.)
- a ``switch`` on a computed expression (``c ^ 3``) first stores its value in a hidden
  register of the expression's width and switches on that: Aer 0.18 switches on a clbit
  or a register only;
- a block body that acts on no qubit gets a barrier on qubit 0: Aer 0.18 runs a ``store``
  in such a body whatever the condition says, and a barrier changes nothing else.

The hidden registers follow the circuit's own, so its clbit indices do not move; the
engine drops them from the readouts and fails the run when a shot set an ``overran`` bit
(:meth:`Lowered.restore`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from qrelay.errors import DeviceError
from qrelay.payload import control
from qrelay.payload.circuit import Circuit, Condition, Instruction, Register
from qrelay.payload.classical import ClassicalExpr, Scope
from qrelay.payload.readout import Readout

#: The ops whose circuits :func:`lower` rewrites.
_LOWERED_OPS: Final = frozenset({"while", "store"})
#: The prefix of the registers the rewrite adds.
HIDDEN_PREFIX: Final = "_qrelay_"


@dataclass(frozen=True)
class Lowered:
    """The rewritten circuit, its loops' bound and each loop's hidden register."""

    circuit: Circuit
    bound: int
    #: hidden one-bit register (``overran``) to where its ``while`` is
    overran: dict[str, str]

    def restore(self, readouts: list[Readout]) -> list[Readout]:
        """The readouts of the original circuit: hidden registers dropped.

        Raises ``DeviceError`` naming the ``while`` loop when a shot reached the bound.
        """
        for readout in readouts:
            for name, where in self.overran.items():
                shots = int(readout.register(name).array()[:, 0].sum())
                if shots:
                    raise DeviceError(
                        f"{where} (while): {shots} shot(s) reached the bound of {self.bound} "
                        "iterations (limits.max_loop_iterations of the target); the run fails"
                    )
        return [
            readout.model_copy(
                update={
                    "registers": [
                        reg for reg in readout.registers if not reg.name.startswith(HIDDEN_PREFIX)
                    ]
                }
            )
            for readout in readouts
        ]


def needs_lowering(circuit: Circuit) -> bool:
    """True when ``circuit`` has variables (or the hidden registers of
    :func:`hide_variables`), a ``while`` loop, a ``store`` or a ``switch`` on a computed
    expression."""
    if circuit.variables or any(reg.name.startswith(HIDDEN_PREFIX) for reg in circuit.registers):
        return True
    names = control.op_names(circuit.instructions)
    if not _LOWERED_OPS.isdisjoint(names):
        return True
    return "switch" in names and any(
        inst["op"] == "switch" and _computed(inst) for inst in circuit.iter_instructions()
    )


def _computed(inst: Instruction) -> bool:
    """True for a ``switch`` whose subject is neither a clbit, a register nor a variable."""
    return "op" in inst["test"] or "lit" in inst["test"]


def lower(circuit: Circuit, max_loop_iterations: int) -> Lowered:
    """The circuit rewritten as described above, every ``while`` bounded by
    ``max_loop_iterations`` turns per shot."""
    return _Rewrite(circuit, max_loop_iterations).run()


def hide_variables(circuit: Circuit) -> Circuit:
    """``circuit`` with its typed variables as hidden registers, as :func:`lower` makes
    them, and nothing else changed.

    For a compiler that cannot carry variables: Qiskit 2.x's transpiler fails on them
    when it turns a two-qubit gate around for a directed coupling. The hidden registers
    then travel with the compiled circuit, and an engine's :func:`lower` drops them from
    the readouts with its own.
    """
    if not circuit.variables:
        return circuit
    return _Rewrite(circuit, 0, full=False).run().circuit


class _Rewrite:
    def __init__(self, circuit: Circuit, bound: int, *, full: bool = True) -> None:
        self.circuit = circuit
        self.bound = bound
        #: False: replace the variables only (:func:`hide_variables`)
        self.full = full
        self.registers: list[Register] = list(circuit.registers)
        self.next_clbit = circuit.num_clbits
        self.overran: dict[str, str] = {}
        self.switches = 0
        self.scope = Scope(
            circuit.num_clbits,
            {name: size for name, (_, size) in circuit.register_offsets().items()},
            {var.name: var.classical_type for var in circuit.variables},
        )
        #: variable name to its replacement expression
        self.variables: dict[str, ClassicalExpr] = {}
        for var in circuit.variables:
            name = self.hidden(f"var_{var.name}", var.width or 1)
            if var.width is None:
                self.variables[var.name] = {"clbit": self.next_clbit - 1}
            else:
                self.variables[var.name] = {"register": name}

    def hidden(self, name: str, size: int) -> str:
        """Add a hidden register; its first clbit is ``self.next_clbit - size``."""
        full = f"{HIDDEN_PREFIX}{name}"
        self.registers.append(Register(name=full, size=size))
        self.next_clbit += size
        return full

    def run(self) -> Lowered:
        instructions = self.block(self.circuit.instructions, "")
        data = self.circuit.model_dump()
        data.update(
            registers=[reg.model_dump() for reg in self.registers],
            instructions=instructions,
            variables=[],
        )
        return Lowered(Circuit.model_validate(data), self.bound, self.overran)

    def block(self, instructions: list[Instruction], prefix: str) -> list[Instruction]:
        out: list[Instruction] = []
        for index, inst in enumerate(instructions):
            where = f"{prefix}{index}"
            if not self.full:
                out.append(self.one(inst, where))
            elif inst["op"] == "while":
                out.extend(self.bounded(inst, where))
            elif inst["op"] == "switch" and _computed(inst):
                out.extend(self.switched(inst, where))
            else:
                out.append(self.one(inst, where))
        return self.anchored(out) if prefix and self.full else out

    def anchored(self, body: list[Instruction]) -> list[Instruction]:
        """``body``, with a barrier on qubit 0 first if it acts on no qubit."""
        if self.circuit.num_qubits and not _touches_qubits(body):
            return [{"op": "barrier", "qubits": [0]}, *body]
        return body

    def one(self, inst: Instruction, where: str) -> Instruction:
        """A copy of ``inst`` with variables replaced and its bodies rewritten."""
        copy: dict[str, Any] = dict(inst)
        for key in ("test", "lvalue", "rvalue"):
            if key in copy:
                copy[key] = self.expression(copy[key])
        if "body" in copy:
            copy["body"] = self.block(copy["body"], f"{where}.body.")
        if "else_body" in copy:
            copy["else_body"] = self.block(copy["else_body"], f"{where}.else_body.")
        if "default" in copy:
            copy["default"] = self.block(copy["default"], f"{where}.default.")
        if "cases" in copy:
            copy["cases"] = [
                {
                    "values": case["values"],
                    "body": self.block(case["body"], f"{where}.cases.{n}.body."),
                }
                for n, case in enumerate(copy["cases"])
            ]
        result: Instruction = copy  # type: ignore[assignment]
        return result

    def expression(self, node: ClassicalExpr) -> ClassicalExpr:
        if "var" in node:
            return self.variables[node["var"]]
        if "args" in node:
            found: ClassicalExpr = dict(node)  # type: ignore[assignment]
            found["args"] = [self.expression(arg) for arg in node["args"]]
            return found
        return node

    def switched(self, inst: Instruction, where: str) -> list[Instruction]:
        """A ``switch`` on a computed expression as a store of its value in a hidden
        register, then the ``switch`` on that register."""
        kind = self.scope.type_of(inst["test"], f"{where} test")
        name = self.hidden(f"switch_{self.switches}", kind.width)
        self.switches += 1
        value = self.expression(inst["test"])
        if kind.kind == "bool":
            value = {"op": "cast", "args": [value], "width": 1}
        store: Instruction = {
            "op": "store",
            "qubits": [],
            "lvalue": {"register": name},
            "rvalue": value,
        }
        switch: Instruction = {**inst, "test": {"register": name}}
        return [store, self.one(switch, where)]

    def bounded(self, inst: Instruction, where: str) -> list[Instruction]:
        """A ``while`` loop bounded by a counter, as the module's description says."""
        index = len(self.overran)
        name = self.hidden(f"loop_{index}", 1)
        overran = self.next_clbit - 1
        self.overran[name] = f"instruction {where}"
        width = self.bound.bit_length()
        turns = self.hidden(f"loop_{index}_turns", width)
        at_bound: ClassicalExpr = {
            "op": "equal",
            "args": [{"register": turns}, {"lit": self.bound, "width": width}],
        }
        stop: Instruction = {
            "op": "if",
            "qubits": [],
            "test": at_bound,
            "body": self.anchored([_store(overran), {"op": "break", "qubits": []}]),
        }
        body = self.block(inst.get("body", []), f"{where}.body.")
        return [
            {
                "op": "store",
                "qubits": [],
                "lvalue": {"register": turns},
                "rvalue": {"lit": 0, "width": width},
            },
            {
                "op": "while",
                "qubits": [],
                "test": self.expression(_as_test(inst, self.circuit)),
                # counted before the body, so a ``continue`` of the body counts its turn too
                "body": self.anchored([stop, *_count(self.next_clbit - width, width), *body]),
            },
        ]


def _count(first: int, width: int) -> list[Instruction]:
    """Stores that add one to the counter in clbits ``first`` (lowest) to ``first + width
    - 1``: a bit flips when every bit below it is set. The highest bit goes first, so each
    store reads the bits below as they were before the addition."""
    out: list[Instruction] = []
    for bit in range(width - 1, -1, -1):
        value: ClassicalExpr = {"op": "logic_not", "args": [{"clbit": first}]}
        if bit:
            carry: ClassicalExpr = {"clbit": first}
            for lower_bit in range(first + 1, first + bit):
                carry = {"op": "logic_and", "args": [carry, {"clbit": lower_bit}]}
            value = {"op": "not_equal", "args": [{"clbit": first + bit}, carry]}
        out.append({"op": "store", "qubits": [], "lvalue": {"clbit": first + bit}, "rvalue": value})
    return out


def _touches_qubits(instructions: list[Instruction]) -> bool:
    return any(
        inst["qubits"] or any(_touches_qubits(body) for _, body in control.blocks(inst))
        for inst in instructions
    )


def _store(clbit: int) -> Instruction:
    return {"op": "store", "qubits": [], "lvalue": {"clbit": clbit}, "rvalue": {"lit": True}}


def _as_test(inst: Instruction, circuit: Circuit) -> ClassicalExpr:
    """A loop's condition as an expression (payload.v1's ``condition`` form included)."""
    if "test" in inst:
        return inst["test"]
    cond: Condition = inst["condition"]
    if "clbit" in cond:
        bit: ClassicalExpr = {"clbit": cond["clbit"]}
        return bit if cond["value"] else {"op": "logic_not", "args": [bit]}
    size = circuit.register_offsets()[cond["register"]][1]
    return {
        "op": "equal",
        "args": [{"register": cond["register"]}, {"lit": cond["value"], "width": size}],
    }
