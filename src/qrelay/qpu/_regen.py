"""Regenerate the committed gRPC code from ``protos/controller.proto``.

``python -m qrelay.qpu._regen`` rewrites ``qrelay/qpu/_proto``; ``--out DIR`` writes
elsewhere (the drift test compares such a copy with the committed files). Needs
``grpcio-tools`` (in the ``test`` extra).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from qrelay.errors import ConfigurationError, MissingDependencyError

_PACKAGE_DIR = Path(__file__).resolve().parent
PROTO_DIR = _PACKAGE_DIR / "protos"
OUT_DIR = _PACKAGE_DIR / "_proto"
PROTO = "controller.proto"
GENERATED = ("controller_pb2.py", "controller_pb2.pyi", "controller_pb2_grpc.py")

_INIT = '"""Generated gRPC code of qrelay/qpu/protos/controller.proto. Do not edit."""\n'
log = logging.getLogger(__name__)


def generate(out_dir: Path) -> list[Path]:
    """Write the generated modules (and an ``__init__``) to ``out_dir``; return them."""
    try:
        from grpc_tools import protoc
    except ImportError as exc:
        raise MissingDependencyError("grpcio-tools", "test") from exc
    import importlib.resources

    out_dir.mkdir(parents=True, exist_ok=True)
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(PROTO_DIR / PROTO),
        ]
    )
    if code != 0:
        raise ConfigurationError(f"protoc failed with exit code {code} on {PROTO}")
    # protoc writes `import controller_pb2`; make it package-relative.
    grpc_file = out_dir / "controller_pb2_grpc.py"
    text = grpc_file.read_text()
    text = re.sub(r"^import controller_pb2 as", "from . import controller_pb2 as", text, flags=re.M)
    grpc_file.write_text(text)
    (out_dir / "__init__.py").write_text(_INIT)
    return [out_dir / name for name in ("__init__.py", *GENERATED)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
