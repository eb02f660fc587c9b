"""The web console: jobs, targets and admin pages at ``/ui``, rendered on the server.

:func:`install_console` adds it to the service app (``ServiceSettings.console_enabled``).
Pages are Jinja2 templates of this package; the stylesheet and the one small script are
served from it too (``/ui/static``), so the console asks nothing of other hosts and works
offline. It is a thin channel over the service: it logs in with a user's token (see
:mod:`.session`) and calls the same store and operations as the ``/v1`` routes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI


def install_console(app: FastAPI) -> None:
    """Add the console's routes and assets to ``app``."""
    from fastapi.staticfiles import StaticFiles

    from qrelay.service.console import admin, jobs, login, targets
    from qrelay.service.console.session import ROOT

    static = Path(__file__).with_name("static")
    app.mount(f"{ROOT}/static", StaticFiles(directory=str(static)), name="console-static")
    for module in (login, jobs, targets, admin):
        app.include_router(module.router)
