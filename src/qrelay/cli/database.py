"""The operator commands' one way into a database: errors become one line naming the URL.

A database that does not exist, refuses the login or cannot be reached makes SQLAlchemy
raise with a long chain of driver errors. :func:`database_errors` turns any of them into
a :class:`~qrelay.errors.ConfigurationError` that names the database URL, its password
masked, and the driver's own first line (``qrelay: error: database
postgresql+psycopg://qrelay:***@db/qrelay: connection refused ...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from qrelay.errors import ConfigurationError

#: ``scheme://user:password@`` in a URL that SQLAlchemy cannot parse.
_PASSWORD: Final = re.compile(r"(://[^:/@]*:)[^@]*@")


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD.sub(r"\1***@", url)


def reason(exc: BaseException) -> str:
    """The first line of what the driver said (SQLAlchemy's wrapper and hints left out)."""
    from sqlalchemy.exc import DBAPIError

    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    text = lines[0] if lines else type(inner).__name__
    return text.removeprefix("(") if text.startswith("(") and ")" not in text else text


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Raise a :class:`~qrelay.errors.ConfigurationError` naming ``url`` for any database
    error (or missing database driver) inside the block."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except ConfigurationError as exc:
        if "database" in str(exc):
            raise ConfigurationError(f"database {masked(url)}: {exc}") from exc
        raise
    except (SQLAlchemyError, ModuleNotFoundError) as exc:
        raise ConfigurationError(f"database {masked(url)}: {reason(exc)}") from exc
