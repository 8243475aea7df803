"""The interactive API documentation (Swagger UI), served with its own assets: no CDN, works offline."""

from __future__ import annotations

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)


def mount_assets(app: FastAPI) -> None:
    """Serve Swagger UI's script and stylesheet from the installed swagger-ui-bundle package."""
    app.mount("/static/swagger-ui", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui")


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    """Swagger UI over this API's OpenAPI document."""
    def asset(path: str) -> str:
        return request.url_for("swagger-ui", path=path).path

    # The OpenAPI 3.0 rendering at /api: this Swagger UI (4.x) does not read OpenAPI 3.1.
    return get_swagger_ui_html(openapi_url=request.url_for("api").path, title=f"{request.app.title}: API",
                               swagger_js_url=asset("swagger-ui-bundle.js"), swagger_css_url=asset("swagger-ui.css"),
                               swagger_favicon_url=asset("favicon-32x32.png"))
