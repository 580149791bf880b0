"""Demo page: the unmodified rasa-webchat widget (vendored from npm by scripts/setup.sh) talking to this
gateway's Socket.IO channel. /demo/webchat?link=<signed borrower link> chats as the borrower the link names
(`python -m bot.links B000005 --gateway http://127.0.0.1:8000` prints one); they still have to pass
verification in the conversation, exactly as on /ws/chat. /demo/page.css is the look every demo page shares
(the widget's, the voice call's, the demo phone's)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from bot.channels import webchat_binding

ROOT = Path(__file__).resolve().parents[1]
WEBCHAT_VERSION = "1.0.1"
# Where scripts/setup.sh unpacks the npm package; lib/index.js is its UMD bundle (global `WebChat`).
WEBCHAT_PACKAGE_DIR = ROOT / "var" / "vendor" / f"rasa-webchat-{WEBCHAT_VERSION}"
WEBCHAT_BUNDLE = WEBCHAT_PACKAGE_DIR / "lib" / "index.js"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The widget injects its CSS as <style> elements and has data: URI icons and fonts. Nothing else loads or
# connects anywhere but this gateway: its @import of Google Fonts is refused (a borrower's page must not
# call third parties; it falls back to the page's sans-serif).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _missing_bundle(bundle: Path) -> JSONResponse:
    return JSONResponse(
        {"error": "widget_not_installed",
         "detail": f"the rasa-webchat {WEBCHAT_VERSION} bundle is missing ({bundle}); run scripts/setup.sh"},
        status_code=503,
    )


def demo_router(webchat_bundle: Path = WEBCHAT_BUNDLE) -> APIRouter:
    router = APIRouter(prefix="/demo")
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}

    @router.get("/webchat", response_model=None)
    async def webchat_page(request: Request) -> Response:
        if not webchat_bundle.is_file():
            return _missing_bundle(webchat_bundle)
        page = FileResponse(STATIC_DIR / "demo_webchat.html", media_type="text/html", headers=headers)
        webchat_binding.give_browser(request, page)  # the chat's sessions are bound to this browser
        return page

    @router.get("/webchat/page.js", response_model=None)
    async def webchat_page_script() -> Response:
        return FileResponse(STATIC_DIR / "demo_webchat.js", media_type="text/javascript", headers=headers)

    @router.get("/page.css", response_model=None)
    async def demo_stylesheet() -> Response:
        return FileResponse(STATIC_DIR / "demo_page.css", media_type="text/css", headers=headers)

    @router.get("/webchat/rasa-webchat.js", response_model=None)
    async def webchat_bundle_script() -> Response:
        if not webchat_bundle.is_file():
            return _missing_bundle(webchat_bundle)
        return FileResponse(webchat_bundle, media_type="text/javascript", headers=headers)

    return router
