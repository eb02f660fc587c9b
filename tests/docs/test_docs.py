"""The docs work as written: every runnable Python block runs, and the site builds strictly.

Each page's ```python blocks run in order in ONE fresh interpreter (later blocks may use
names an earlier block defined, as a reader following the page would), with
``QRELAY_HOME`` in a temporary directory and no service configured, so they run on the
embedded default. A block preceded by ``<!-- no-run -->`` is shown but not run: that
marker is kept for blocks that need a remote service or several hosts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NO_RUN = "<!-- no-run -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    line: int  # 1-based line of the opening fence
    language: str
    source: str
    skipped: bool


def extract_blocks(text: str, page: str = "<text>") -> list[Block]:
    """Every fenced block of ``text``, with its language and whether it is marked no-run."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, indent = match["fence"], match["indent"]
        language = match["info"].strip().split(" ", 1)[0].lower() if match["info"] else ""
        previous = next((ln.strip() for ln in reversed(lines[:index]) if ln.strip()), "")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            line = lines[end]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            end += 1
        blocks.append(
            Block(
                page=page,
                line=index + 1,
                language=language,
                source="\n".join(body) + "\n",
                skipped=previous == NO_RUN,
            )
        )
        index = end + 1
    return blocks


def doc_pages() -> list[Path]:
    """The Markdown pages of the docs, except the generated schema folder."""
    return sorted(p for p in DOCS.rglob("*.md") if "schema" not in p.relative_to(DOCS).parts)


def runnable(page: Path) -> list[Block]:
    rel = page.relative_to(DOCS).as_posix()
    return [
        b
        for b in extract_blocks(page.read_text(encoding="utf-8"), rel)
        if b.language in ("python", "py") and not b.skipped
    ]


# The runner executes each block in one shared namespace and names the block that failed.
_RUNNER = """
import json, sys, traceback
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__main__"}
for block in blocks:
    try:
        code = compile(block["source"], f"{block['page']}:{block['line']}", "exec")
        exec(code, namespace)
    except BaseException:
        sys.stderr.write(f"\\nFAILED block at {block['page']} line {block['line']}\\n")
        traceback.print_exc()
        sys.exit(1)
"""


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["QRELAY_HOME"] = str(tmp_path / "home")
    env["QRELAY_CONFIG"] = str(tmp_path / "no-config.toml")
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


PAGES_WITH_CODE = [p for p in doc_pages() if runnable(p)]


@pytest.mark.parametrize(
    "page", PAGES_WITH_CODE, ids=[p.relative_to(DOCS).as_posix() for p in PAGES_WITH_CODE]
)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    blocks = runnable(page)
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([b.__dict__ for b in blocks]), encoding="utf-8")
    runner = tmp_path / "runner.py"
    runner.write_text(_RUNNER, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, str(runner), str(spec)],
        check=False,
        cwd=work,
        env=_isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"{page.name}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"


def test_extractor_honours_no_run_and_languages() -> None:
    text = (
        "Intro\n\n```python\nx = 1\n```\n\n<!-- no-run -->\n```python\nremote()\n```\n\n"
        "```bash\nqrelay --help\n```\n\n- item\n\n    ```python\n    y = 2\n    ```\n"
    )
    blocks = extract_blocks(text)
    assert [(b.language, b.skipped, b.source) for b in blocks] == [
        ("python", False, "x = 1\n"),
        ("python", True, "remote()\n"),
        ("bash", False, "qrelay --help\n"),
        ("python", False, "y = 2\n"),
    ]


def test_no_run_marker_is_used_sparingly() -> None:
    """Skipped blocks are for remote services and multi-host set-ups, not for broken code."""
    skipped = [
        b
        for page in doc_pages()
        for b in extract_blocks(page.read_text(encoding="utf-8"), page.name)
        if b.skipped
    ]
    total = sum(len(runnable(p)) for p in doc_pages())
    assert total > 0
    assert len(skipped) <= max(3, total // 3), [f"{b.page}:{b.line}" for b in skipped]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install 'qrelay[docs]')")
    pytest.importorskip("material", reason="mkdocs-material is not installed")
    pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        check=False,
        cwd=ROOT,
        env=_isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert (site / "index.html").is_file()
    assert (site / "reference" / "cli" / "index.html").is_file()
    assert (site / "reference" / "rest" / "index.html").is_file()
