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


# The runner executes the pages one after another in ONE interpreter, so the embedded
# default starts once for all of them; each page gets a fresh namespace of its own, and a
# failing block is reported with its page and line.
_RUNNER = """
import contextlib, io, json, sys, traceback
pages = json.load(open(sys.argv[1], encoding="utf-8"))
report = {}
for page, blocks in pages.items():
    namespace = {"__name__": "__main__"}
    output = io.StringIO()
    report[page] = {"ok": True, "output": ""}
    with contextlib.redirect_stdout(output):
        for block in blocks:
            try:
                code = compile(block["source"], f"{page}:{block['line']}", "exec")
                exec(code, namespace)
            except BaseException:
                report[page] = {
                    "ok": False,
                    "error": f"block at {page} line {block['line']} failed:\\n"
                    + traceback.format_exc(),
                }
                break
    report[page]["output"] = output.getvalue()[-3000:]
json.dump(report, open(sys.argv[2], "w", encoding="utf-8"))
"""


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QRELAY_")}
    env["QRELAY_HOME"] = str(tmp_path / "home")
    (tmp_path / "no-config.toml").touch()  # an empty config: no profiles
    env["QRELAY_CONFIG"] = str(tmp_path / "no-config.toml")
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_MKDOCS_2_WARNING"] = "1"
    return env


PAGES_WITH_CODE = [p for p in doc_pages() if runnable(p)]


@pytest.fixture(scope="module")
def page_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Run every page's blocks (one interpreter, one namespace per page); report per page."""
    tmp_path = tmp_path_factory.mktemp("doc-blocks")
    spec = tmp_path / "pages.json"
    spec.write_text(
        json.dumps(
            {
                page.relative_to(DOCS).as_posix(): [b.__dict__ for b in runnable(page)]
                for page in PAGES_WITH_CODE
            }
        ),
        encoding="utf-8",
    )
    runner = tmp_path / "runner.py"
    runner.write_text(_RUNNER, encoding="utf-8")
    out = tmp_path / "report.json"
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, str(runner), str(spec), str(out)],
        check=False,
        cwd=work,
        env=_isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert out.is_file(), proc.stderr[-6000:]
    report: dict[str, dict[str, str]] = json.loads(out.read_text(encoding="utf-8"))
    return report


@pytest.mark.parametrize(
    "page", PAGES_WITH_CODE, ids=[p.relative_to(DOCS).as_posix() for p in PAGES_WITH_CODE]
)
def test_python_blocks_run(page: Path, page_reports: dict[str, dict[str, str]]) -> None:
    result = page_reports[page.relative_to(DOCS).as_posix()]
    assert result["ok"], f"{result.get('error')}\noutput:\n{result['output']}"


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
