"""OpenQASM 2 and 3 text to payload circuits and back, through Qiskit's parsers.

Parsers (their speeds: "Design measurements" in ``docs/performance.md``):

- OpenQASM 2: ``qiskit.qasm2`` (Rust), fast. ``qelib1.inc`` gates are read with Qiskit's
  legacy custom instructions so ``u1``/``u2``/``u3``/``cu1`` and friends become their
  library gates and then payload ops.
- OpenQASM 3: ``qiskit.qasm3.loads`` (``qiskit-qasm3-import`` over the ``openqasm3``
  reference parser). It is slow (the ANTLR parse itself dominates) but complete. Qiskit's
  native ``loads_experimental`` is much faster but, in Qiskit 2.x, refuses ``input float``
  declarations and gate definitions in the file, and reports parse errors by printing
  them instead of raising them with a location, so it cannot serve here yet.
  What the importer refuses, ``switch`` and conditions with ``&&``, ``||``, ``!`` or
  comparisons other than ``==``, is read by :mod:`qrelay_qasm.dynamic`, which leaves the
  rest to the importer.

Reading is bounded (see :mod:`qrelay_qasm.bounds`): ``include`` resolves ``qelib1.inc`` /
``stdgates.inc`` and, only when the caller names directories (``include_dirs``, e.g. the
directory of a file on the user's own machine), files there; the instructions a program
expands to are counted against an :class:`~qrelay.payload.limits.InstructionBudget`
before and while it is expanded, and registers against the most qubits.

Writing goes through Qiskit's exporters (``qasm2.dumps`` / ``qasm3.dumps``), which emit
gate definitions for ops outside ``qelib1.inc`` / ``stdgates.inc``. Errors are
:class:`ConversionError` with ``location == ("line", L, "column", C)`` (1-based).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from qrelay.errors import ConversionError, MissingDependencyError
from qrelay.payload.circuit import MAX_INSTRUCTIONS, MAX_QUBITS
from qrelay.payload.limits import InstructionBudget
from qrelay_qasm.bounds import (
    check_qasm2_source,
    check_qasm3_nesting,
    check_qasm3_program,
    check_qasm3_text,
    include_refused,
)
from qrelay_qasm.dynamic import import_program, importer_refuses

if TYPE_CHECKING:
    from qrelay.payload.circuit import Circuit

__all__ = ["from_qasm2", "from_qasm3", "loads", "qasm_version", "to_qasm2", "to_qasm3"]

#: ``<input>:4,0: message`` (qasm2, and the qasm3 importer's semantic errors): 0-based column.
_COMMA_LOCATION: Final = re.compile(r"(?:^|[\s'\"])(?:<input>:)?(\d+),(\d+):\s*(.*)", re.S)
#: ``[no file:10:8]`` (the qasm3 parser's diagnostics): 1-based column.
_BRACKET_LOCATION: Final = re.compile(r"\[[^\]:]*:(\d+):(\d+)\]")
_VERSION: Final = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.M)
_COMMENTS: Final = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
#: Qiskit's OpenQASM 2 parser on an include it did not find in the search path.
_NOT_FOUND2: Final = re.compile(
    r"<input>:(\d+),(\d+):\s*unable to find .* in the include search path"
)
#: Qiskit's OpenQASM 3 importer on an include other than ``stdgates.inc``.
_NOT_SUPPORTED3: Final = re.compile(r"(\d+),(\d+):\s*non-stdgates imports")


def _qiskit() -> Any:
    try:
        import qiskit
    except ImportError as exc:  # pragma: no cover - the extra is installed in tests
        raise MissingDependencyError("qiskit", "qasm") from exc
    return qiskit


def _error(version: int, exc: Exception) -> ConversionError:
    text = str(exc).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    line = column = None
    message = text
    bracket = _BRACKET_LOCATION.search(text)
    if bracket:
        line, column = int(bracket.group(1)), int(bracket.group(2))
        first = text.splitlines()[0] if text else ""
        detail = re.search(r"Error:\s*(.*)", text)
        message = detail.group(1).strip() if detail else first
        if not message:
            message = first
    else:
        match = _COMMA_LOCATION.search(text)
        if match:
            line, column = int(match.group(1)), int(match.group(2)) + 1
            message = match.group(3).strip().splitlines()[0]
    if line is None or column is None:
        return ConversionError(f"OpenQASM {version}: {message}")
    return ConversionError(
        f"OpenQASM {version}, line {line}, column {column}: {message}",
        location=("line", line, "column", column),
    )


def _parse_error(exc: Exception) -> ConversionError:
    """The located error of the OpenQASM 3 reference parser.

    On a syntax error the parser bails out on the first bad token and raises an empty
    error whose cause holds ANTLR's exception; its offending token has the line and
    (0-based) column.
    """
    if str(exc):
        return _error(3, exc)
    cause = exc.__cause__
    inner = cause.args[0] if cause is not None and cause.args else cause
    token = getattr(inner, "offendingToken", None)
    if token is None:
        return _error(3, exc)
    line, column = int(token.line), int(token.column) + 1
    return ConversionError(
        f"OpenQASM 3, line {line}, column {column}: syntax error at {token.text!r}",
        location=("line", line, "column", column),
    )


def qasm_version(text: str) -> int:
    """The major OpenQASM version a program declares (3 when it declares none)."""
    match = _VERSION.search(_COMMENTS.sub("", text))
    if match is None:
        return 3
    major = int(match.group(1))
    if major not in (2, 3):
        raise ConversionError(
            f"OPENQASM {match.group(1)}: only OpenQASM 2 and 3 are supported",
            location=("line", text[: match.start(1)].count("\n") + 1, "column", 1),
        )
    return major


def _budget(budget: InstructionBudget | None) -> InstructionBudget:
    return InstructionBudget(MAX_INSTRUCTIONS) if budget is None else budget


def _finish(qc: Any, budget: InstructionBudget) -> Circuit:
    """The payload circuit of an imported program, sized before and while it is expanded."""
    from qrelay_qiskit.convert import expanded_count, from_qiskit

    count = expanded_count(qc, budget.limit - budget.count)
    budget.check(count)
    qc.name = "circuit"
    return from_qiskit(qc, budget=budget)


def from_qasm2(
    text: str,
    *,
    budget: InstructionBudget | None = None,
    max_qubits: int = MAX_QUBITS,
    include_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Circuit:
    """The payload circuit of an OpenQASM 2 program (``qelib1.inc`` gates).

    ``include`` resolves ``qelib1.inc`` (built in) and files in ``include_dirs`` only;
    with none given (a service), any other include is refused with one message. The
    program's size is checked against ``budget`` (default: the payload's most
    instructions) and ``max_qubits`` before it is parsed, and while it is expanded.
    """
    _qiskit()
    from qiskit import qasm2

    budget = _budget(budget)
    check_qasm2_source(text, budget, max_qubits)
    try:
        qc = qasm2.loads(
            text,
            include_path=tuple(include_dirs),
            custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
            strict=False,
        )
    except qasm2.QASM2ParseError as exc:
        missing = _NOT_FOUND2.search(str(exc))
        if missing is not None and not include_dirs:
            line, column = int(missing.group(1)), int(missing.group(2)) + 1
            raise include_refused(2, line, column) from None
        raise _error(2, exc) from exc
    return _finish(qc, budget)


def from_qasm3(
    text: str,
    *,
    budget: InstructionBudget | None = None,
    max_qubits: int = MAX_QUBITS,
    max_statements: int | None = None,
) -> Circuit:
    """The payload circuit of an OpenQASM 3 program (``stdgates.inc``, ``input float``...).

    ``include`` resolves ``stdgates.inc`` only (Qiskit's importer reads no other file).
    ``max_statements`` bounds the text given to the reference parser, whose time grows
    with the number of statements and faster than the length of one, before it starts
    (see :func:`~qrelay_qasm.bounds.check_qasm3_text`); so does the nesting of braces and
    parentheses, always (:func:`~qrelay_qasm.bounds.check_qasm3_nesting`). The program's
    size is then checked, as for :func:`from_qasm2`, before and while it is expanded.
    """
    _qiskit()
    import warnings

    import openqasm3
    from qiskit_qasm3_import import convert

    budget = _budget(budget)
    if max_statements is not None:
        check_qasm3_text(_COMMENTS.sub("", text), max_statements)
    check_qasm3_nesting(text)
    try:
        with warnings.catch_warnings():
            # the reference parser warns about its own ANTLR runtime version; not ours to fix
            warnings.simplefilter("ignore")
            program = openqasm3.parse(text)
    except Exception as exc:
        raise _parse_error(exc) from exc
    check_qasm3_program(program, budget, max_qubits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if any(importer_refuses(node) for node in program.statements):
                qc = import_program(program, convert)
            else:
                qc = convert(program)
    except ConversionError:
        raise
    except Exception as exc:
        refused = _NOT_SUPPORTED3.search(str(exc))
        if refused is not None:
            raise include_refused(3, int(refused.group(1)), int(refused.group(2)) + 1) from None
        raise _error(3, exc) from exc
    return _finish(qc, budget)


def loads(
    text: str,
    *,
    budget: InstructionBudget | None = None,
    max_qubits: int = MAX_QUBITS,
    max_statements: int | None = None,
    include_dirs: Sequence[str | os.PathLike[str]] = (),
) -> Circuit:
    """The payload circuit of an OpenQASM program, version taken from its header.

    The keywords bound the program as :func:`from_qasm2` and :func:`from_qasm3` say
    (``max_statements`` applies to OpenQASM 3, ``include_dirs`` to OpenQASM 2).
    """
    if qasm_version(text) == 2:
        return from_qasm2(text, budget=budget, max_qubits=max_qubits, include_dirs=include_dirs)
    return from_qasm3(text, budget=budget, max_qubits=max_qubits, max_statements=max_statements)


def to_qasm2(circuit: Circuit) -> str:
    """An OpenQASM 2 program for a payload circuit (``if`` and delays have no OpenQASM 2 form)."""
    _qiskit()
    from qiskit import qasm2

    from qrelay_qiskit.convert import to_qiskit

    try:
        return str(qasm2.dumps(to_qiskit(circuit)))
    except qasm2.QASM2ExportError as exc:
        raise ConversionError(f"OpenQASM 2 cannot express this circuit: {exc}") from exc


def to_qasm3(circuit: Circuit) -> str:
    """An OpenQASM 3 program for a payload circuit; parameters become ``input float``."""
    _qiskit()
    from qiskit import qasm3

    from qrelay_qiskit.convert import to_qiskit

    try:
        return str(qasm3.dumps(to_qiskit(circuit)))
    except qasm3.QASM3ExporterError as exc:
        raise ConversionError(f"OpenQASM 3 cannot express this circuit: {exc}") from exc
