"""The interactive docs at ``/api/docs``: Swagger UI, every file served by the app itself.

Why `fastapi-offline`'s files: it ships a current Swagger UI 5 bundle (OpenAPI 3.1, which FastAPI
writes, needs Swagger UI 5; `swagger-ui-bundle` on PyPI still ships 4.15), as plain files in a
small package with no code we run: we serve them with Starlette's StaticFiles and our own page
rather than its `FastAPIOffline` app class, so that `create_app` stays the one place that builds
the app. Vendoring swagger-ui-dist from npm would mean carrying 1.5 MB of minified JavaScript in
this repository and updating it by hand.

FastAPI's own docs page starts Swagger UI with an inline script, which a strict
Content-Security-Policy forbids: this page loads its starter (``init.js``) as a file instead, so
the docs run under ``script-src 'self'`` (`egide.api.middleware.CSP_DOCS`).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS = "/api/docs"


def _assets() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Égide API</title>
<link rel="stylesheet" href="{docs}/static/swagger-ui.css">
<link rel="icon" href="{docs}/static/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{docs}/static/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({{
  url: {openapi},
  dom_id: "#swagger-ui",
  deepLinking: true,
  showExtensions: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


def install(app: FastAPI) -> None:
    assert app.openapi_url is not None
    page = PAGE.format(docs=DOCS)
    init = INIT.format(openapi=json.dumps(app.openapi_url))
    app.mount(f"{DOCS}/static", StaticFiles(directory=_assets()), name="docs-static")

    @app.get(DOCS, include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{DOCS}/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(init, media_type="text/javascript")
