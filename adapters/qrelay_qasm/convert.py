"""OpenQASM 2 and 3 text to payload circuits and back, through Qiskit's parsers.

Parsers (measured on this machine, a 20-qubit depth-100 random circuit):

- OpenQASM 2: ``qiskit.qasm2`` (Rust) parses ~800 instructions in ~7 ms. ``qelib1.inc``
  gates are read with Qiskit's legacy custom instructions so ``u1``/``u2``/``u3``/``cu1``
  and friends become their library gates and then payload ops.
- OpenQASM 3: ``qiskit.qasm3.loads`` (``qiskit-qasm3-import`` over the ``openqasm3``
  reference parser). It is slow (~1 ms per statement, the ANTLR parse itself dominates)
  but complete. Qiskit's native ``loads_experimental`` is much faster but, in Qiskit 2.x,
  refuses ``input float`` declarations and gate definitions in the file, and reports
  parse errors by printing them instead of raising them with a location, so it cannot
  serve here yet.

Writing goes through Qiskit's exporters (``qasm2.dumps`` / ``qasm3.dumps``), which emit
gate definitions for ops outside ``qelib1.inc`` / ``stdgates.inc``. Errors are
:class:`ConversionError` with ``location == ("line", L, "column", C)`` (1-based).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from qrelay.errors import ConversionError, MissingDependencyError

if TYPE_CHECKING:
    from qrelay.payload.circuit import Circuit

__all__ = ["from_qasm2", "from_qasm3", "loads", "qasm_version", "to_qasm2", "to_qasm3"]

#: ``<input>:4,0: message`` (qasm2, and the qasm3 importer's semantic errors): 0-based column.
_COMMA_LOCATION: Final = re.compile(r"(?:^|[\s'\"])(?:<input>:)?(\d+),(\d+):\s*(.*)", re.S)
#: ``[no file:10:8]`` (the qasm3 parser's diagnostics): 1-based column.
_BRACKET_LOCATION: Final = re.compile(r"\[[^\]:]*:(\d+):(\d+)\]")
_VERSION: Final = re.compile(r"^\s*OPENQASM\s+(\d+)(?:\.(\d+))?\s*;", re.M)
_COMMENTS: Final = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


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


def _syntax_error(text: str) -> ConversionError | None:
    """Locate a syntax error the OpenQASM 3 reference parser reported without a message.

    The parser bails out on the first bad token and raises an empty error whose cause
    holds ANTLR's exception; its offending token has the line and (0-based) column.
    """
    try:
        import openqasm3
    except ImportError:  # pragma: no cover - installed with the qasm extra
        return None
    try:
        openqasm3.parse(text)
    except Exception as exc:
        cause = exc.__cause__
        inner = cause.args[0] if cause is not None and cause.args else cause
        token = getattr(inner, "offendingToken", None)
        if token is None:
            return _error(3, exc) if str(exc) else None
        line, column = int(token.line), int(token.column) + 1
        return ConversionError(
            f"OpenQASM 3, line {line}, column {column}: syntax error at {token.text!r}",
            location=("line", line, "column", column),
        )
    return None


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


def from_qasm2(text: str) -> Circuit:
    """The payload circuit of an OpenQASM 2 program (``qelib1.inc`` gates)."""
    _qiskit()
    from qiskit import qasm2

    from qrelay_qiskit.convert import from_qiskit

    try:
        qc = qasm2.loads(
            text,
            custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
            strict=False,
        )
    except qasm2.QASM2ParseError as exc:
        raise _error(2, exc) from exc
    qc.name = "circuit"
    return from_qiskit(qc)


def from_qasm3(text: str) -> Circuit:
    """The payload circuit of an OpenQASM 3 program (``stdgates.inc``, ``input float``...)."""
    _qiskit()
    import warnings

    from qiskit import qasm3

    from qrelay_qiskit.convert import from_qiskit

    try:
        with warnings.catch_warnings():
            # the reference parser warns about its own ANTLR runtime version; not ours to fix
            warnings.simplefilter("ignore")
            qc = qasm3.loads(text)
    except Exception as exc:
        if not str(exc):
            located = _syntax_error(text)
            if located is not None:
                raise located from exc
        raise _error(3, exc) from exc
    qc.name = "circuit"
    return from_qiskit(qc)


def loads(text: str) -> Circuit:
    """The payload circuit of an OpenQASM program, version taken from its header."""
    if qasm_version(text) == 2:
        return from_qasm2(text)
    return from_qasm3(text)


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
