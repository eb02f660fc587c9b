"""The engine child process: ``python -m qrelay.qpu._child ENGINE OPTIONS_JSON``.

It loads the named engine plugin once, then answers each request ``(key, circuit,
kwargs)`` with ``("ok", row arrays)`` or ``("error", (kind, message))``, over the framed
pipe of :mod:`qrelay.childproc`.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from typing import Any, Final

from qrelay.childproc import serve

_CIRCUITS: Final = 32


def main() -> int:
    name, options = sys.argv[1], json.loads(sys.argv[2])
    engines: list[Any] = []
    circuits: OrderedDict[str, Any] = OrderedDict()

    def load() -> None:
        from qrelay import registry

        engines.append(registry.load(registry.ENGINES, name)(**options))

    def handle(request: Any) -> tuple[str, Any]:
        key, circuit, kwargs = request
        # One object per executable, so the engine's per-circuit caches hit.
        found = circuits.get(key)
        if found is None:
            circuits[key] = found = circuit
            while len(circuits) > _CIRCUITS:
                circuits.popitem(last=False)
        else:
            circuits.move_to_end(key)
        try:
            readouts = engines[0].run(found, **kwargs)
        except Exception as exc:  # sent back to the parent, which raises it there
            return "error", (type(exc).__name__, str(exc))
        return "ok", [r.arrays() for r in readouts]

    return serve(handle, on_ready=load)


if __name__ == "__main__":
    sys.exit(main())
