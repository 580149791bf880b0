"""A WeChat user's side of /wechat/callback, as WeChat's servers would post it, for tests: signed XML
text messages in; replies either passive (the HTTP response) or, for turns slower than the passive
budget, customer-service messages received by the fake WeChat API server."""
from __future__ import annotations

import hashlib
import itertools
import time
import uuid

import httpx
from wechatpy import parse_message

from tests.fakes.wechat_api import FakeWeChatApi

REPLY_TIMEOUT_SECONDS = 60
_msg_ids = itertools.count(int(time.time()) * 1000)


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def text_message_xml(openid: str, content: str, msg_id: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_collections]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id or next(_msg_ids)}</MsgId></xml>")


class WeChatUser:
    """One openid talking to the gateway; `passive` and `via_api` count how each reply arrived."""

    def __init__(self, gateway_url: str, token: str, api: FakeWeChatApi, openid: str | None = None) -> None:
        self.http = httpx.Client(base_url=gateway_url, timeout=30)
        self.token = token
        self.api = api
        self.openid = openid or f"o{uuid.uuid4().hex[:27]}"
        self.passive = 0
        self.via_api = 0

    def close(self) -> None:
        self.http.close()

    def post(self, body: str | bytes, *, timestamp: str | None = None, nonce: str | None = None,
             signature: str | None = None, signed: bool = True) -> httpx.Response:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:16]
        params = {"timestamp": timestamp, "nonce": nonce, "openid": self.openid}
        if signed:
            params["signature"] = signature or wechat_signature(self.token, timestamp, nonce)
        content = body.encode("utf-8") if isinstance(body, str) else body
        return self.http.post("/wechat/callback", params=params, content=content,
                              headers={"Content-Type": "text/xml"})

    def _delivered(self) -> list[str]:
        """Customer-service texts the fake WeChat server accepted for this openid so far (a locked copy)."""
        return [message["text"]["content"] for message in self.api.wait_for_messages(0, timeout=0)
                if message.get("touser") == self.openid]

    def say(self, text: str) -> str:
        """What the user sees in reply to `text` (one WeChat message: the turn's texts joined)."""
        already = len(self._delivered())
        response = self.post(text_message_xml(self.openid, text))
        if response.status_code != 200:
            raise AssertionError(f"callback answered {response.status_code}: {response.text}")
        if response.text != "success":
            self.passive += 1
            return parse_message(response.text).content
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            delivered = self._delivered()
            if len(delivered) > already:
                self.via_api += 1
                return delivered[already]
            time.sleep(0.05)
        raise AssertionError(f"no reply to {text!r} within {REPLY_TIMEOUT_SECONDS} s")
