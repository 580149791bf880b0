"""A counting reverse proxy in front of the e2e stack's real Rasa: the gateway reaches Rasa only through
it, so a test sees every request that arrived at Rasa for its conversation."""
from __future__ import annotations

import http.client
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

UPSTREAM_TIMEOUT_SECONDS = 120
_NOT_FORWARDED = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}
_CONVERSATION_PATH = re.compile(r"^/conversations/([^/]+)/")


class RasaRequests:
    """Forwards every request to `upstream` and keeps (method, path) per conversation id."""

    def __init__(self, upstream: str) -> None:
        self._upstream = urlsplit(upstream)
        self._lock = threading.Lock()
        self._by_conversation: dict[str, list[tuple[str, str]]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def of(self, conversation_id: str) -> list[tuple[str, str]]:
        """The requests that reached Rasa for this conversation, in order, as (method, path without query)."""
        with self._lock:
            return list(self._by_conversation.get(conversation_id, []))

    def __enter__(self) -> "RasaRequests":
        threading.Thread(target=self._server.serve_forever, name="rasa-requests", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _note(self, method: str, path: str, body: bytes) -> None:
        route = urlsplit(path).path
        match = _CONVERSATION_PATH.match(route)
        conversation_id = match.group(1) if match else _sender(body)
        if conversation_id is not None:
            with self._lock:
                self._by_conversation.setdefault(conversation_id, []).append((method, route))

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        upstream = http.client.HTTPConnection(self._upstream.hostname, self._upstream.port,
                                              timeout=UPSTREAM_TIMEOUT_SECONDS)
        try:
            upstream.request(method, path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's HTTP client expects

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._note(self.command, self.path, body)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
                status, answer_headers, answer = proxy._forward(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in answer_headers:
                    if name.lower() not in _NOT_FORWARDED:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

            def log_message(self, *_: object) -> None:
                return None

        return Handler


def _sender(body: bytes) -> str | None:
    """A channel webhook names the conversation in its JSON body."""
    try:
        sender = json.loads(body).get("sender")
    except (ValueError, AttributeError):
        return None
    return sender if isinstance(sender, str) else None
