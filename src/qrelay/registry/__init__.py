"""Plugin discovery through entry points: providers, drivers, compilers, engines, converters.

The ``qrelay.embedded`` group names the embedded default (``stack``: start the whole stack
in this process; ``fleet``: start only the emulated QPU fleet). The runtime finds it here
rather than importing it, because the embedded default is a composition of the service,
the workers and the fleet, which all sit above the runtime.

Nothing is loaded until asked for, and each group is read once per process (cached).
Frameworks reach qrelay only this way: ``qrelay_qiskit`` registers the ``aer`` driver, the
``aer`` engine and the ``qiskit-transpile`` compiler; ``qrelay_cirq`` the ``cirq`` driver.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from qrelay.errors import ConfigurationError

PROVIDERS = "qrelay.providers"
DRIVERS = "qrelay.drivers"
COMPILERS = "qrelay.compilers"
ENGINES = "qrelay.engines"
CONVERTERS = "qrelay.converters"
EMBEDDED = "qrelay.embedded"


@functools.cache
def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    """The plugin names registered in ``group``, sorted."""
    return sorted(_group(group))


@functools.cache
def load(group: str, name: str) -> Any:
    """The object the entry point ``name`` of ``group`` points at (loaded once)."""
    found = _group(group)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigurationError(f"no {group} plugin named {name!r} (installed: {known})")
    try:
        return found[name].load()
    except ImportError as exc:
        raise ConfigurationError(
            f"{group} plugin {name!r} could not be imported ({exc}); "
            "is its extra installed? try: pip install 'qrelay[all]'"
        ) from exc


def clear_cache() -> None:
    """Forget what was discovered (after installing a plugin at run time, e.g. in tests)."""
    _group.cache_clear()
    load.cache_clear()
