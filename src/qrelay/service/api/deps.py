"""Request dependencies: the service runtime and the principal behind the bearer token.

Principals are cached per token hash for ``ServiceSettings.auth_cache_seconds`` (a second
by default), so a burst of requests from one client costs one lookup; a token revoked on
another replica keeps working for at most that long (a revocation through this process
drops its cache at once). Each request then counts against its token's rate limit.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from qrelay.service.auth import UserPrincipal, WorkerPrincipal, hash_token
from qrelay.service.problems import ApiError, pydantic_errors

if TYPE_CHECKING:
    from qrelay.service.app import ServiceRuntime

_M = TypeVar("_M", bound=BaseModel)


def runtime(request: Request) -> ServiceRuntime:
    rt: ServiceRuntime = request.app.state.runtime
    return rt


def cached_principal(rt: ServiceRuntime, token: str) -> UserPrincipal | WorkerPrincipal | None:
    """The principal of ``token`` if it was looked up within the cache's lifetime."""
    hit = rt.auth_cache.get(hash_token(token))
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def lookup_principal(rt: ServiceRuntime, token: str) -> UserPrincipal | WorkerPrincipal:
    """The principal of ``token`` from the database (401 if none), then cached."""
    found = rt.store.principal(token)
    if found is None:
        raise ApiError(401, "unauthenticated", "Authorization: the token is not valid")
    if len(rt.auth_cache) > 10_000:
        rt.auth_cache.clear()
    rt.auth_cache[hash_token(token)] = (time.monotonic() + rt.settings.auth_cache_seconds, found)
    return found


async def _principal(request: Request) -> UserPrincipal | WorkerPrincipal:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "unauthenticated", "Authorization: no bearer token given")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthenticated", "Authorization: expected 'Bearer <token>'")
    return await principal_of(runtime(request), token)


async def principal_of(rt: ServiceRuntime, token: str) -> UserPrincipal | WorkerPrincipal:
    """The principal of ``token`` (401 if none), counted against its rate limit: the one
    check of a bearer token, which the console's session cookie goes through too."""
    await rt.ensure_started()
    found = cached_principal(rt, token)
    if found is None:
        found = await rt.offload(lookup_principal, rt, token)
    await rt.rate_limits.check(found)
    return found


async def user(request: Request) -> UserPrincipal:
    """The user (or admin) behind the token; a worker token is refused."""
    found = await _principal(request)
    if not isinstance(found, UserPrincipal):
        raise ApiError(403, "forbidden", "a worker token cannot use user endpoints")
    return found


async def admin(request: Request) -> UserPrincipal:
    """An admin; any other token is refused."""
    found = await user(request)
    if not found.is_admin:
        raise ApiError(403, "forbidden", "this endpoint is for admins")
    return found


async def worker(request: Request) -> WorkerPrincipal:
    """A worker; a user token is refused."""
    found = await _principal(request)
    if not isinstance(found, WorkerPrincipal):
        raise ApiError(403, "forbidden", "only worker tokens may use worker endpoints")
    return found


User = Annotated[UserPrincipal, Depends(user)]
Admin = Annotated[UserPrincipal, Depends(admin)]
Worker = Annotated[WorkerPrincipal, Depends(worker)]


def query_model(model: type[_M], request: Request) -> _M:
    """Validate the query string against ``model``; repeated keys fill list fields.

    A field with an alias (``from``) is given by its alias.

    Errors name the parameter (422 ``validation_error``).
    """
    params = request.query_params
    values: dict[str, object] = {}
    keys = {name: field.alias or name for name, field in model.model_fields.items()}
    for name, field in model.model_fields.items():
        key = keys[name]
        if key not in params:
            continue
        if "list" in str(field.annotation):
            values[key] = params.getlist(key)
        else:
            values[key] = params[key]
    unknown = sorted(set(params) - set(keys.values()))
    if unknown:
        raise ApiError(422, "validation_error", f"{unknown[0]}: unknown query parameter")
    try:
        return model.model_validate(values)
    except PydanticValidationError as exc:
        raise pydantic_errors(exc) from None


async def body_model(model: type[_M], request: Request) -> _M:
    """Validate the JSON body against ``model`` in one pass (422 naming the field).

    Routes parse their own bodies: pydantic-core validates straight from the bytes, which
    is faster than FastAPI's decode-then-validate, and it keeps FastAPI's body fields out
    of the per-request path. A large body is parsed off the event loop (see
    :mod:`qrelay.service.bodies`).
    """
    raw = await request.body()
    return await runtime(request).bodies.validate(model, raw)


def json_body(model: type[BaseModel]) -> dict[str, object]:
    """The ``openapi_extra`` that documents a body parsed by :func:`body_model`."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}
