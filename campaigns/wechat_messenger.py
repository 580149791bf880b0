"""WeChat reminders: a template message to the WeChat user the borrower verified as (bot.channels.wechat_bindings),
through the Official Account API client the channel uses (bot.channels.wechat_api). The card shows the invitation
in the template's text field and opens the signed chat link. Not retried, except once after an expired access token
(WeChatApiClient.send_template)."""
from __future__ import annotations

import httpx

from bot.channels.wechat_api import WeChatApiClient, WeChatApiError
from campaigns.invitations import Invitation, InvitationTexts, MessengerError, NoRecipient, SentMessage
from campaigns.recipients import Recipients
from campaigns.sms import PROVIDER_REJECTED, PROVIDER_UNAVAILABLE

NOT_FOLLOWING = "wechat_not_following"
# errcodes that mean this user cannot get it (43004: no longer follows the account; 40003: not a valid openid)
_NO_RECIPIENT_ERRCODES = {43004, 40003}
# errcodes that may pass (-1: WeChat busy; 45009: daily quota used up)
_TRANSIENT_ERRCODES = {-1, 45009}


class WeChatMessenger:
    def __init__(self, api: WeChatApiClient, recipients: Recipients, texts: InvitationTexts, template_id: str,
                 text_field: str = "content") -> None:
        self._api = api
        self._recipients = recipients
        self._texts = texts
        self._template_id = template_id
        self._field = text_field

    async def send(self, invitation: Invitation) -> SentMessage:
        if invitation.channel != "wechat":
            raise ValueError("WeChatMessenger sends WeChat invitations only")
        openid = await self._recipients.openid(invitation.borrower_id)
        text = self._texts.for_channel(invitation)
        try:
            message_id = await self._api.send_template(openid, self._template_id, invitation.link, {self._field: text})
        except WeChatApiError as error:
            if error.errcode in _NO_RECIPIENT_ERRCODES:
                raise NoRecipient(NOT_FOLLOWING, f"errcode {error.errcode}") from None
            # An HTTP status stands in for the errcode when WeChat answered other than 200.
            transient = error.errcode in _TRANSIENT_ERRCODES or 500 <= (error.errcode or 0) < 600
            raise MessengerError(PROVIDER_UNAVAILABLE if transient else PROVIDER_REJECTED, permanent=not transient,
                                 detail=f"errcode {error.errcode}") from None
        except (httpx.HTTPError, ValueError) as error:
            raise MessengerError(PROVIDER_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        return SentMessage(message_id, "wechat", text)
