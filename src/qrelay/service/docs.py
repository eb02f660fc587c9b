"""The ``/docs`` page (Swagger UI) with its scripts and styles served from the package.

FastAPI's own page loads them from a CDN, so it is blank offline; here they come from
the ``swagger-ui-bundle`` distribution under ``/docs/static``. The page and
``/openapi.json`` are served only with ``ServiceSettings.docs_enabled``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = "/docs/static"


def install_docs(app: FastAPI) -> None:
    """Add ``/docs`` and its assets to ``app`` (whose ``openapi_url`` is set)."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(STATIC, StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        """The Swagger UI page for this service's OpenAPI document."""
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - docs",
            swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC}/favicon-32x32.png",
            # No badge from the public validator: the page asks nothing of other hosts.
            swagger_ui_parameters={"validatorUrl": None},
        )
