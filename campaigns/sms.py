"""SMS reminders: `SmsMessenger` over an `SmsProvider`; the production provider is Twilio's Messages API
(POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth with the account SID and auth token).

One POST per reminder and no retry: Twilio has no idempotency key for messages, so a retry after a timeout could
reach the borrower twice. A 4xx is permanent (a bad number, bad credentials) except 429; a 5xx, a 429 or a transport
failure may succeed later, and the worker decides when. Error 21610 says the number opted out (it texted STOP to
the sender): that is recorded in the ledger (campaigns.recipients) and no SMS goes to it again until it texts START
(bot.channels.sms_inbound).
"""
from __future__ import annotations

import logging
from typing import Protocol

import httpx

from campaigns.invitations import Invitation, InvitationTexts, MessengerError, NoRecipient, SentMessage
from campaigns.recipients import SMS_OPTED_OUT, Recipients

logger = logging.getLogger("campaigns.sms")
PROVIDER_REJECTED = "provider_rejected"
PROVIDER_UNAVAILABLE = "provider_unavailable"
OPTED_OUT_CODE = "21610"  # Twilio: "Attempt to send to unsubscribed recipient"


class OptedOut(MessengerError):
    """The provider refused the text because the number opted out of SMS."""

    def __init__(self, detail: str) -> None:
        super().__init__(SMS_OPTED_OUT, permanent=True, detail=detail)


class SmsProvider(Protocol):
    async def send(self, to_e164: str, body: str) -> str:
        """Sends one text; returns the provider's message id; raises MessengerError."""


class TwilioSms:
    def __init__(self, api_base: str, account_sid: str, auth_token: str, sender: str,
                 timeout_seconds: float = 10.0) -> None:
        self._url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        # A Messaging Service SID lets Twilio pick the sender number; otherwise a number of the account.
        self._sender = {"MessagingServiceSid": sender} if sender.startswith("MG") else {"From": sender}
        self._timeout = timeout_seconds

    async def send(self, to_e164: str, body: str) -> str:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._url, auth=self._auth, data={"To": to_e164, "Body": body, **self._sender})
        except httpx.HTTPError as error:
            # The request may have reached Twilio: not retried here (see the module's docstring).
            logger.warning("sms send failed: %s", type(error).__name__)
            raise MessengerError(PROVIDER_UNAVAILABLE, permanent=False, detail=type(error).__name__) from None
        if response.is_success:
            try:
                return str(response.json()["sid"])
            except (ValueError, KeyError, TypeError):
                raise MessengerError(PROVIDER_UNAVAILABLE, permanent=False, detail="answer without a message sid") from None
        code = _error_code(response)
        detail = f"HTTP {response.status_code}, code {code}"
        logger.warning("sms send refused: %s", detail)  # never the number or the text
        if code == OPTED_OUT_CODE:
            raise OptedOut(detail)
        permanent = response.status_code < 500 and response.status_code != 429
        raise MessengerError(PROVIDER_REJECTED if permanent else PROVIDER_UNAVAILABLE, permanent=permanent, detail=detail)


def _error_code(response: httpx.Response) -> str:
    """Twilio's error code (21211 invalid number, 21610 opted out, 20003 bad credentials...), or '-'."""
    try:
        return str(int(response.json()["code"]))
    except (ValueError, KeyError, TypeError):
        return "-"


class SmsMessenger:
    def __init__(self, provider: SmsProvider, recipients: Recipients, texts: InvitationTexts) -> None:
        self._provider = provider
        self._recipients = recipients
        self._texts = texts

    async def send(self, invitation: Invitation) -> SentMessage:
        if invitation.channel != "sms":
            raise ValueError("SmsMessenger sends SMS invitations only")
        number = await self._recipients.phone(invitation.borrower_id)
        text = self._texts.for_channel(invitation)
        try:
            return SentMessage(await self._provider.send(number, text), "sms", text)
        except OptedOut:
            await self._recipients.opted_out(number)
            raise NoRecipient(SMS_OPTED_OUT) from None
