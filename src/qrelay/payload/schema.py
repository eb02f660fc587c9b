"""Export the JSON Schema of every payload model, one file per model, to ``docs/schema/``.

Run from the project root::

    python -m qrelay.payload.schema           # (re)write docs/schema/*.json
    python -m qrelay.payload.schema --check   # exit 1 if the files drifted from the models

The files are what other languages and tools read to speak payload.v1; the test suite runs
the check, so a model change that forgets to re-export fails on purpose.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from qrelay.payload import _base

#: Where the schema files live, relative to the project root.
DEFAULT_DIR: Final = Path("docs") / "schema"
_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def public_models() -> dict[str, type[BaseModel]]:
    """Every public model of ``qrelay.payload`` by name (the base class excluded)."""
    from qrelay import payload

    found: dict[str, type[BaseModel]] = {}
    for name in sorted(payload.__all__):
        obj = getattr(payload, name)
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not _base.WireModel:
            found[name] = obj
    return found


def schemas() -> dict[str, dict[str, Any]]:
    """File name to JSON Schema (validation mode, i.e. what a producer must send)."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in public_models().items():
        schema = model.model_json_schema(mode="validation")
        out[f"{name}.json"] = {
            "$schema": _DIALECT,
            "$id": f"urn:qrelay:{_base.PAYLOAD_VERSION}:{name}",
            **schema,
        }
    return out


def render(schema: dict[str, Any]) -> str:
    """The stable text of one schema file (sorted keys, two-space indent, final newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(directory: Path) -> list[Path]:
    """Write every schema file into ``directory`` and remove stale ones; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {name: render(schema) for name, schema in schemas().items()}
    written = []
    for name, text in wanted.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    for stale in directory.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    return written


def check(directory: Path) -> list[str]:
    """What differs between ``directory`` and the models; empty when in sync."""
    problems = []
    wanted = {name: render(schema) for name, schema in schemas().items()}
    for name, text in wanted.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the model")
    problems.extend(
        f"{stale}: no model of that name"
        for stale in sorted(directory.glob("*.json"))
        if stale.name not in wanted
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the schema files, or with ``--check`` only compare them."""
    parser = argparse.ArgumentParser(
        prog="python -m qrelay.payload.schema", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="default: docs/schema")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.out)
        for problem in problems:
            sys.stderr.write(problem + "\n")
        if problems:
            sys.stderr.write("run: python -m qrelay.payload.schema\n")
            return 1
        sys.stdout.write(f"{args.out}: {len(schemas())} schema files in sync\n")
        return 0
    files = write(args.out)
    sys.stdout.write(f"wrote {len(files)} schema files to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
