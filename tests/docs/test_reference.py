"""The generated reference pages cover what the code has: every route, every command."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_reference", ROOT / "docs" / "gen_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rest_page_lists_every_route_of_the_app(gen: ModuleType) -> None:
    pytest.importorskip("fastapi", reason="the service extra is not installed")
    document = gen.openapi_document()
    assert document is not None
    page = gen.rest_page(document)
    for path, item in document["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"| `{method.upper()}` | `{path}` |" in page
    assert "/v1/jobs" in document["paths"]


def test_cli_page_shows_every_subcommand(gen: ModuleType) -> None:
    from qrelay.cli import build_parser

    page = gen.cli_page()
    names = [name for name, _sub in gen._subcommands(build_parser())]
    assert {"run", "serve", "worker", "qpu"} <= set(names)
    for name in names:
        assert f"## `qrelay {name}`" in page


def test_grpc_page_includes_the_proto(gen: ModuleType) -> None:
    files = gen.proto_files()
    assert files
    page = gen.grpc_page()
    assert "service Controller" in page
    assert "```protobuf" in page


def test_benchmark_table_reads_a_run_and_says_when_there_is_none(
    gen: ModuleType, tmp_path: Path
) -> None:
    assert "No benchmark run was found" in gen.benchmark_table(tmp_path / "absent.json")
    run = tmp_path / "latest.json"
    rows = [
        {
            "status": "ok",
            "case": "a | b",
            "ours": 2.0,
            "reference": 1.0,
            "unit": "ms",
            "ratio": 2.0,
        },
        {"status": "missing", "module": "cirq", "case": "cirq: not installed"},
    ]
    run.write_text(json.dumps({"started": "then", "quick": True, "rows": rows}), encoding="utf-8")
    table = gen.benchmark_table(run)
    assert "| a \\| b | 2 ms | 1 ms | 2x |" in table
    assert "cirq: not installed" in table
    assert "quick sizes" in table
