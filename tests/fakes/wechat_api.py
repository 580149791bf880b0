"""A fake WeChat Official Account API: /cgi-bin/token, /cgi-bin/message/custom/send and
/cgi-bin/message/template/send.

Runs uvicorn in a thread on a free 127.0.0.1 port and records what it received:

    with FakeWeChatApi(app_id="wx-test", app_secret="s3cret") as fake:
        ... point COLLECTIONS_WECHAT_API_BASE at fake.base_url ...
        fake.wait_for_messages(1)
"""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI, Request


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FakeWeChatApi:
    def __init__(self, app_id: str, app_secret: str, port: int | None = None) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.port = port or _free_port()  # a fixed port when the gateway must know it before this starts
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token_requests: list[dict[str, str]] = []
        self.messages: list[dict[str, Any]] = []      # accepted custom/send bodies
        self.rejected: list[dict[str, Any]] = []      # custom/send bodies answered with an errcode
        self.fail_next_sends = 0                     # answer this many sends with errcode -1 (system busy)
        self.templates: list[dict[str, Any]] = []     # accepted template/send bodies
        self.template_requests = 0                   # every template/send, accepted or not
        self.template_errcodes: list[int] = []       # answer the next template sends with these errcodes
        self.unfollowed: set[str] = set()            # openids that no longer follow the account (43004)
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server = uvicorn.Server(uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/cgi-bin/token")
        async def token(grant_type: str = "", appid: str = "", secret: str = "") -> dict[str, Any]:
            with self._lock:
                self.token_requests.append({"grant_type": grant_type, "appid": appid})
                if grant_type != "client_credential" or appid != self.app_id or secret != self.app_secret:
                    return {"errcode": 40013, "errmsg": "invalid appid"}
                issued = uuid.uuid4().hex
                self._tokens.add(issued)
            return {"access_token": issued, "expires_in": 7200}

        @app.post("/cgi-bin/message/custom/send")
        async def send(request: Request, access_token: str = "") -> dict[str, Any]:
            raw = await request.body()
            body = json.loads(raw.decode("utf-8"))
            with self._lock:
                if access_token not in self._tokens:
                    self.rejected.append(body)
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                if self.fail_next_sends > 0:
                    self.fail_next_sends -= 1
                    self.rejected.append(body)
                    return {"errcode": -1, "errmsg": "system error"}
                body["_raw_utf8"] = "\\u" not in raw.decode("utf-8")
                self.messages.append(body)
            return {"errcode": 0, "errmsg": "ok"}

        @app.post("/cgi-bin/message/template/send")
        async def template(request: Request, access_token: str = "") -> dict[str, Any]:
            raw = await request.body()
            body = json.loads(raw.decode("utf-8"))
            with self._lock:
                self.template_requests += 1
                if access_token not in self._tokens:
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                if self.template_errcodes:
                    return {"errcode": self.template_errcodes.pop(0), "errmsg": "scripted"}
                if body.get("touser") in self.unfollowed:
                    return {"errcode": 43004, "errmsg": "require subscribe"}
                if not body.get("template_id") or not isinstance(body.get("data"), dict):
                    return {"errcode": 40037, "errmsg": "invalid template_id"}
                body["_raw_utf8"] = "\\u" not in raw.decode("utf-8")
                self.templates.append(body)
                msgid = len(self.templates) + 1000
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

        return app

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (WeChat's 40001 until a new one is fetched)."""
        with self._lock:
            self._tokens.clear()

    def __enter__(self) -> "FakeWeChatApi":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake WeChat API did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        with self._lock:
            return list(self.messages)
