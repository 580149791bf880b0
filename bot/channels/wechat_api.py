"""The WeChat Official Account API calls the channel needs, on httpx.AsyncClient (never blocks the loop):
the access token (cached until shortly before it expires), the customer-service text message and the template
message (reminders: campaigns.wechat_messenger)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Callable

import httpx

logger = logging.getLogger("bot.channels.wechat")
# errcodes that mean the cached access token is no longer good: fetch a new one before the retry
_TOKEN_ERRCODES = {40001, 40014, 42001}
_TOKEN_MARGIN_SECONDS = 300


class WeChatApiError(RuntimeError):
    def __init__(self, errcode: int | None, where: str) -> None:
        super().__init__(f"{where}: errcode={errcode}")
        self.errcode = errcode


class WeChatApiClient:
    def __init__(
        self, api_base: str, app_id: str, app_secret: str, timeout_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._timeout = timeout_seconds
        self._now = monotonic
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def _access_token(self, client: httpx.AsyncClient) -> str:
        async with self._token_lock:
            if self._token and self._now() < self._token_expires:
                return self._token
            response = await client.get(f"{self._base}/cgi-bin/token", params={
                "grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret,
            })
            data = response.json()
            token = data.get("access_token")
            if response.status_code != 200 or not token:
                raise WeChatApiError(data.get("errcode"), "token")
            expires_in = int(data.get("expires_in") or 7200)
            self._token = token
            self._token_expires = self._now() + max(expires_in - _TOKEN_MARGIN_SECONDS, 60)
            return token

    def _forget_token(self) -> None:
        self._token = None
        self._token_expires = 0.0

    async def send_text(self, openid: str, content: str) -> None:
        """Customer-service text message; one retry on an API error (errcode != 0) or transport error."""
        await self._post("/cgi-bin/message/custom/send", "custom/send",
                         {"touser": openid, "msgtype": "text", "text": {"content": content}}, retry_any_error=True)

    async def send_template(self, openid: str, template_id: str, url: str, fields: dict[str, str]) -> str:
        """Template message (a card that opens `url`); returns WeChat's msgid. Retried only after an expired
        access token, when WeChat surely sent nothing: a reminder sent twice is worse than one not sent."""
        data = await self._post("/cgi-bin/message/template/send", "template/send", {
            "touser": openid, "template_id": template_id, "url": url,
            "data": {name: {"value": value} for name, value in fields.items()},
        }, retry_any_error=False)
        return str(data.get("msgid", ""))

    async def _post(self, path: str, where: str, payload: dict, retry_any_error: bool) -> dict:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")  # raw UTF-8: WeChat shows \\uXXXX literally
        last_error: Exception | None = None
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            for attempt in (1, 2):
                stale_token = False
                try:
                    token = await self._access_token(client)
                    response = await client.post(
                        f"{self._base}{path}", params={"access_token": token},
                        content=body, headers={"Content-Type": "application/json; charset=utf-8"},
                    )
                    data = response.json() if response.status_code == 200 else {}
                    errcode = data.get("errcode", 0) if response.status_code == 200 else response.status_code
                    if errcode == 0:
                        return data
                    if errcode in _TOKEN_ERRCODES:
                        self._forget_token()
                        stale_token = True
                    last_error = WeChatApiError(errcode, where)
                except (httpx.HTTPError, ValueError, WeChatApiError) as error:
                    last_error = error
                # Never the openid or the text: only what went wrong.
                # (httpx messages can carry the URL, whose query has the token or secret: type name only)
                reason = str(last_error) if isinstance(last_error, WeChatApiError) else type(last_error).__name__
                logger.warning("wechat api call failed (attempt %d): %s", attempt, reason)
                if not (retry_any_error or stale_token):
                    break
        raise last_error if last_error else WeChatApiError(None, where)
