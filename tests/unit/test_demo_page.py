"""The /demo/webchat routes: the page and the vendored widget bundle, or a clear 503 without it."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.channels import webchat_binding
from bot.demo import WEBCHAT_BUNDLE, demo_router


def _client(bundle: Path) -> TestClient:
    app = FastAPI()
    app.include_router(demo_router(bundle))
    return TestClient(app)


def test_without_the_bundle_the_page_tells_the_operator_to_run_setup(tmp_path):
    client = _client(tmp_path / "missing" / "index.js")
    for path in ("/demo/webchat?borrower_id=B000005", "/demo/webchat/rasa-webchat.js"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.json()["error"] == "widget_not_installed"
        assert "scripts/setup.sh" in response.json()["detail"]


def test_page_loads_the_widget_from_this_gateway_only(tmp_path):
    bundle = tmp_path / "index.js"
    bundle.write_text("window.WebChat = {};")
    client = _client(bundle)
    page = client.get("/demo/webchat")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/demo/webchat/rasa-webchat.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert client.get("/demo/webchat/rasa-webchat.js").text == "window.WebChat = {};"
    script = client.get("/demo/webchat/page.js")
    assert script.status_code == 200 and 'socketPath: "/socket.io/"' in script.text


def test_the_page_gives_the_browser_an_httponly_binding_cookie_for_the_chat_socket_once(tmp_path):
    bundle = tmp_path / "index.js"
    bundle.write_text("window.WebChat = {};")
    client = _client(bundle)
    set_cookie = client.get("/demo/webchat").headers["set-cookie"]
    assert set_cookie.startswith(f"{webchat_binding.COOKIE}=")
    attributes = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert len(set_cookie.split(";")[0].split("=", 1)[1]) >= 43  # 32 random bytes
    # A reload keeps the browser's cookie, so its sessions resume.
    assert "set-cookie" not in client.get("/demo/webchat").headers


def test_setup_vendored_the_unmodified_npm_bundle():
    """scripts/setup.sh unpacks rasa-webchat 1.0.1's UMD bundle, which defines the global WebChat."""
    assert WEBCHAT_BUNDLE.is_file(), "run scripts/setup.sh"
    head = WEBCHAT_BUNDLE.read_text(encoding="utf-8")[:400]
    assert "e.WebChat=t()" in head
