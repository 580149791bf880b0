"""A lender embeds the unmodified widget on its own site (another origin than the gateway's): a site on the
gateway's allow-list chats; any other site is refused by the gateway before a conversation opens."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.chat import borrower_link
from tests.stack import LENDER_SITE_PORT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LENDER_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>某某消费金融 · 还款</title></head>
<body><h1>还款服务</h1>
<script src="{gateway}/demo/webchat/rasa-webchat.js"></script>
<script>
  window.WebChat.default({{
    socketUrl: "{gateway}", socketPath: "/socket.io/", customData: {{ borrower_link: "{link}" }},
    initPayload: "/start_conversation", title: "在线助手", params: {{ storage: "session" }}
  }}, null);
</script></body></html>"""


@pytest.fixture(scope="module")
def lender_site(stack) -> Iterator[str]:
    """The lender's site: a plain page on its own port that loads the widget from the gateway."""

    class LenderPage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            link = parse_qs(urlsplit(self.path).query).get("link", [""])[0]
            body = LENDER_PAGE.format(gateway=stack.gateway_url, link=link).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", LENDER_SITE_PORT), LenderPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"localhost:{LENDER_SITE_PORT}"
    server.shutdown()
    server.server_close()


def test_a_listed_lender_site_chats_through_the_widget(stack, borrowers, lender_site, page, screenshot):
    borrower, _ = borrowers.take()
    page.goto(f"http://{lender_site}/?link={borrower_link(borrower.borrower_id)}")  # http://localhost:<port>: listed
    page.locator(".rw-launcher").click()
    expect(page.locator(".rw-response").first).to_be_visible()  # the bot's greeting arrived cross-origin
    screenshot(page, "lender-site-widget")


def test_an_unlisted_site_is_refused_before_any_conversation(stack, borrowers, lender_site, page):
    borrower, _ = borrowers.take()
    unlisted = f"http://127.0.0.1:{lender_site.rsplit(':', 1)[1]}"  # the same page, reached as another origin
    with page.expect_event("requestfailed", predicate=lambda request: "/socket.io/" in request.url) as blocked:
        page.goto(f"{unlisted}/?link={borrower_link(borrower.borrower_id)}")
    assert blocked.value.failure  # the browser was refused the widget's connection
    assert page.locator(".rw-response").count() == 0
    # What the gateway answered that origin (a browser hides it from the page), and a listed one:
    handshake = f"{stack.gateway_url}/socket.io/?EIO=4&transport=polling"
    refused = httpx.get(handshake, headers={"Origin": unlisted}, timeout=30)
    assert refused.status_code == 400 and "not an accepted origin" in refused.text.lower()
    assert httpx.get(handshake, headers={"Origin": f"http://{lender_site}"}, timeout=30).status_code == 200
