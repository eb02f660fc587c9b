"""The layering rules, checked mechanically.

1. Nothing under ``src/qrelay`` imports a quantum framework (qiskit, qiskit_aer, cirq,
   cirq_core, qsimcirq, sympy) or an adapter package: what needs a framework is a plugin
   in ``adapters/``, loaded through entry points.
2. ``qrelay.payload`` imports only pydantic, pydantic_core, typing_extensions, numpy, the
   standard library, itself and ``qrelay.errors``: it is the wire format, and every
   process (the smallest client included) loads it.
3. Between the parts of ``qrelay`` only the edges of :data:`ALLOWED_EDGES` exist, and the
   adapters import only the client side (:data:`ADAPTER_ALLOWED`).

The static check walks the AST of every module (``import_module("...")`` and
``__import__("...")`` calls with a literal name count too). The subprocess checks confirm
the same at run time, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "qrelay"

FORBIDDEN = frozenset(
    {
        "qiskit",
        "qiskit_aer",
        "cirq",
        "cirq_core",
        "qsimcirq",
        "sympy",
        "qrelay_qiskit",
        "qrelay_cirq",
        "qrelay_qasm",
    }
)
PAYLOAD_THIRD_PARTY = frozenset({"pydantic", "pydantic_core", "typing_extensions", "numpy"})
PAYLOAD_OWN = ("qrelay.payload", "qrelay.errors")
#: Heavy server-side stacks a plain ``import qrelay.payload`` must not load either.
HEAVY = frozenset({"fastapi", "starlette", "sqlalchemy", "alembic", "grpc", "uvicorn"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute module name ``path`` imports, with the line it happens on."""
    source = path.read_text(encoding="utf-8")
    yield from imports_in(source, module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, name: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every absolute module name the module ``name`` with this source imports."""
    package = name if is_package else name.rpartition(".")[0]
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: -(node.level - 1)]
                base = ".".join(base_parts)
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # ``from qrelay import payload`` imports qrelay.payload
                yield node.lineno, f"{module}.{alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if (
                called in {"import_module", "__import__"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield node.lineno, node.args[0].value


def test_the_walk_sees_every_module() -> None:
    names = {module_name(path) for path in modules()}
    assert {"qrelay", "qrelay.errors", "qrelay.settings", "qrelay.payload.circuit"} <= names


def test_the_walk_finds_each_kind_of_import() -> None:
    """The checker itself: each import form is seen (guards against a silent pass)."""
    source = textwrap.dedent(
        """
        import qiskit.circuit
        from cirq import ops
        from . import circuit
        from ..errors import PayloadError
        importlib.import_module("sympy")
        __import__("qsimcirq")
        """
    )
    found = {name for _, name in imports_in(source, "qrelay.payload.probe", is_package=False)}
    assert {
        "qiskit.circuit",
        "cirq",
        "qrelay.payload.circuit",
        "qrelay.errors",
        "sympy",
        "qsimcirq",
    } <= found
    assert not _payload_allows("qiskit.circuit")
    assert not _payload_allows("httpx")
    assert not _payload_allows("qrelay.runtime")
    assert _payload_allows("qrelay.errors")
    assert _payload_allows("json")


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_no_framework_imports(path: Path) -> None:
    bad = [
        f"line {line}: {name}"
        for line, name in imported_names(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert bad == [], (
        f"{module_name(path)} imports a framework or adapter (move it into a plugin under "
        f"adapters/): {bad}"
    )


def _payload_allows(name: str) -> bool:
    root = name.split(".", maxsplit=1)[0]
    if root in sys.stdlib_module_names or root in PAYLOAD_THIRD_PARTY or root == "__future__":
        return True
    if name == "qrelay":
        return True  # ``from qrelay import payload`` names the package; its parts are checked
    return any(name == own or name.startswith(own + ".") for own in PAYLOAD_OWN)


@pytest.mark.parametrize("path", sorted((PACKAGE / "payload").rglob("*.py")), ids=module_name)
def test_payload_imports_only_what_it_may(path: Path) -> None:
    bad = [
        f"line {line}: {name}" for line, name in imported_names(path) if not _payload_allows(name)
    ]
    assert bad == [], (
        f"{module_name(path)} may import only pydantic, numpy, typing_extensions, the "
        f"standard library, qrelay.payload and qrelay.errors: {bad}"
    )


def _fresh_modules(code: str) -> list[str]:
    """The top-level modules loaded after running ``code`` in a fresh interpreter."""
    script = (
        code
        + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_qrelay_and_payload_loads_no_framework() -> None:
    loaded = set(_fresh_modules("import qrelay, qrelay.payload, qrelay.errors, qrelay.settings"))
    assert "qrelay" in loaded
    assert loaded & FORBIDDEN == set()
    assert loaded & HEAVY == set()


def test_payload_use_loads_no_framework() -> None:
    """Building, dumping and parsing payloads (schema export included) stays framework-free."""
    code = textwrap.dedent(
        """
        import numpy as np
        from qrelay import payload as p
        from qrelay.payload import schema
        c = p.Circuit(num_qubits=2, registers=[p.Register(name="c", size=2)],
                      instructions=[{"op": "h", "qubits": [0]}, {"op": "cx", "qubits": [0, 1]}])
        p.parse(p.Circuit, c.model_dump_json())
        r = p.Readout.from_arrays({"c": np.zeros((4, 2), dtype=np.uint8)})
        r.counts(); p.decode_readouts(p.encode_readouts([r]))
        schema.schemas()
        """
    )
    loaded = set(_fresh_modules(code))
    assert loaded & FORBIDDEN == set()
    assert loaded & HEAVY == set()


# ---------------------------------------------------------------------- the table of layers
#: Which parts of ``qrelay`` each part may import (every import, lazy ones included).
#: Dependencies point inward: payload <- settings <- registry <- runtime <- {qpu, service,
#: worker} <- embedded <- cli, with the adapters beside the cli. Among the three peers the
#: worker and the service may read the QPU package (the worker's driver speaks to a
#: controller; the service's default catalog lists the fleet), never the other way.
_BASE = frozenset({"errors", "payload", "plugins", "childproc", "settings", "registry"})
ALLOWED_EDGES: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "payload": frozenset({"errors"}),
    "plugins": frozenset({"errors", "payload"}),
    "childproc": frozenset({"errors"}),
    "settings": frozenset({"errors", "payload"}),
    "registry": frozenset({"errors", "payload", "settings"}),
    # The log format and the metrics port of the long-running commands.
    "logs": frozenset({"errors"}),
    "exposition": frozenset({"errors"}),
    "runtime": _BASE,
    "qpu": _BASE | {"runtime", "exposition"},
    "service": _BASE | {"runtime", "qpu", "exposition"},
    "worker": _BASE | {"runtime", "qpu", "exposition"},
    "embedded": _BASE | {"runtime", "qpu", "service", "worker"},
    "cli": _BASE | {"runtime", "qpu", "service", "worker", "embedded", "logs", "exposition"},
}
#: What the framework adapters may import of the core: the client side and the plugin
#: protocols, never the server parts (those reach the adapters through entry points).
ADAPTER_ALLOWED = _BASE | {"runtime"}


def _part(module: str) -> str | None:
    """The part of ``qrelay`` a module belongs to (``None``: not ours, or the root)."""
    parts = module.split(".")
    if parts[0] != "qrelay" or len(parts) < 2:
        return None
    return parts[1]


def test_every_part_is_in_the_table() -> None:
    parts = {_part(module_name(path)) for path in modules()} - {None}
    assert parts <= set(ALLOWED_EDGES), f"add {sorted(parts - set(ALLOWED_EDGES))} to the table"


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_imports_follow_the_table(path: Path) -> None:
    here = _part(module_name(path))
    if here is None:
        return
    allowed = ALLOWED_EDGES[here] | {here}
    bad = [
        f"line {line}: {name}"
        for line, name in imported_names(path)
        if (there := _part(name)) is not None and there not in allowed
    ]
    assert bad == [], f"{module_name(path)} ({here}) may import only {sorted(allowed)}: {bad}"


def _adapter_modules() -> list[Path]:
    return sorted((ROOT / "adapters").rglob("*.py"))


@pytest.mark.parametrize(
    "path", _adapter_modules(), ids=lambda p: str(p.relative_to(ROOT / "adapters"))
)
def test_adapters_import_only_the_client_side(path: Path) -> None:
    rel = path.relative_to(ROOT / "adapters").with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    source = path.read_text(encoding="utf-8")
    found = imports_in(source, ".".join(parts), is_package=path.name == "__init__.py")
    bad = [
        f"line {line}: {name}"
        for line, name in found
        if (there := _part(name)) is not None and there not in ADAPTER_ALLOWED
    ]
    assert bad == [], f"{'.'.join(parts)} may import only {sorted(ADAPTER_ALLOWED)}: {bad}"


def test_the_table_catches_a_lazy_upward_import() -> None:
    """A function-level import of a higher part is caught like a module-level one."""
    source = "def f():\n    from qrelay import embedded\n    return embedded\n"
    found = [name for _, name in imports_in(source, "qrelay.runtime.probe", is_package=False)]
    assert any(_part(n) == "embedded" for n in found)
    assert "embedded" not in ALLOWED_EDGES["runtime"]
