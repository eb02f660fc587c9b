"""The synchronous client must offer exactly the async client's methods and signatures."""

from __future__ import annotations

import inspect

import pytest

from qrelay.runtime import AsyncClient, AsyncJob, Client, Job


def _public(cls: type) -> dict[str, inspect.Signature]:
    out = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") and name not in {"__init__"}:
            continue
        if inspect.isfunction(member) or inspect.iscoroutinefunction(member):
            out[name] = inspect.signature(member)
    return out


def _normalise(sig: inspect.Signature) -> list[tuple[str, str, str, str]]:
    def text(annotation: object) -> str:
        return str(annotation).replace("AsyncJob", "Job").replace("AsyncClient", "Client")

    params = [
        (p.name, p.kind.name, repr(p.default), text(p.annotation)) for p in sig.parameters.values()
    ]
    params.append(("return", "", "", text(sig.return_annotation)))
    return params


SYNC_ONLY = {"__enter__", "__exit__"}
ASYNC_ONLY = {"__aenter__", "__aexit__"}


@pytest.mark.parametrize(("sync", "asyn"), [(Client, AsyncClient), (Job, AsyncJob)])
def test_same_public_methods(sync: type, asyn: type) -> None:
    sync_methods = {k: v for k, v in _public(sync).items() if k not in SYNC_ONLY}
    async_methods = {k: v for k, v in _public(asyn).items() if k not in ASYNC_ONLY}
    # The sync job wraps an async job, so their constructors differ on purpose.
    if sync is Job:
        sync_methods.pop("__init__")
        async_methods.pop("__init__")
    assert set(sync_methods) == set(async_methods)
    for name, signature in async_methods.items():
        assert _normalise(sync_methods[name]) == _normalise(signature), name


@pytest.mark.parametrize("cls", [AsyncClient, AsyncJob])
def test_async_side_is_coroutines(cls: type) -> None:
    methods = {k: v for k, v in inspect.getmembers(cls) if not k.startswith("_")}
    for name, member in methods.items():
        if inspect.isfunction(member):
            assert inspect.iscoroutinefunction(member), f"{cls.__name__}.{name} is not async"


@pytest.mark.parametrize(("sync", "asyn"), [(Client, AsyncClient), (Job, AsyncJob)])
def test_same_properties(sync: type, asyn: type) -> None:
    def props(cls: type) -> set[str]:
        return {k for k, v in inspect.getmembers(cls) if isinstance(v, property)}

    assert props(asyn) <= props(sync)
