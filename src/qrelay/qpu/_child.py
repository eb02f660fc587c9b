"""The engine child process: ``python -m qrelay.qpu._child ENGINE OPTIONS_JSON``.

It loads the named engine plugin once, then answers requests on stdin with results on
stdout, each a length-prefixed pickle (parent and child are the same program, talking
over a private pipe). Stray output of the engine goes to stderr, never into the channel.
It is its own program (not a ``multiprocessing`` child) so the user's ``__main__`` is
never imported again.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys
from collections import OrderedDict
from typing import IO, Any, Final

_HEADER: Final = struct.Struct("<Q")
_CIRCUITS: Final = 32


def read_frame(stream: IO[bytes]) -> Any | None:
    """One pickled object, or ``None`` at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 - a private pipe between parent and child


def write_frame(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def main() -> int:
    name, options = sys.argv[1], json.loads(sys.argv[2])
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed from here on lands on stderr
    requests = sys.stdin.buffer

    from qrelay import registry

    engine = registry.load(registry.ENGINES, name)(**options)
    circuits: OrderedDict[str, Any] = OrderedDict()
    write_frame(channel, ("ready", None))
    while True:
        request = read_frame(requests)
        if request is None:
            return 0
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
            readouts = engine.run(found, **kwargs)
            reply: tuple[str, Any] = ("ok", [r.arrays() for r in readouts])
        except Exception as exc:  # sent back to the parent, which raises it there
            reply = ("error", (type(exc).__name__, str(exc)))
        write_frame(channel, reply)


if __name__ == "__main__":
    sys.exit(main())
