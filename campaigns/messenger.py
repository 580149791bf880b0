"""Chat reminders: what the campaign worker calls to invite a borrower into a verified chat by SMS or WeChat
(the invitation and its words: campaigns.invitations).

    messenger = make_messenger(settings, ledger)
    link = make_invitation_links(settings)(borrower_id, attempt_id)  # the chat page, signed for this contact
    sent = await messenger.send(Invitation(borrower_id, "sms", "zh", "overdue", link))

Which messenger each channel uses comes from the settings: SMS through Twilio when its account SID, auth token
and sender are set; WeChat as template messages when the WeChat app id, app secret and template id are set. With
no real provider at all (the demo: Settings.demo) both channels' reminders go to the demo inbox
(campaigns.demo_inbox); once any provider is real, a channel without one sends nothing (NoRecipient
`no_provider`), so no borrower's reminder is kept on a page of the public gateway. The wording file and the chat
page are checked here, so a bad one stops the worker at start."""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat_api import WeChatApiClient
from bot.channels.wechat_bindings import WeChatBindings, make_wechat_bindings
from campaigns.chat_links import ChatLinks
from campaigns.demo_inbox import DemoInbox, DemoMessenger
from campaigns.invitations import (
    CHANNELS, LANGUAGES, PURPOSES, Invitation, InvitationTexts, Messenger, MessengerError, NoRecipient, SentMessage,
    TextRefused,
)
from campaigns.recipients import Recipients
from campaigns.sms import SmsMessenger, TwilioSms
from campaigns.wechat_messenger import WeChatMessenger
from configuration.settings import Settings
from ledger.db import make_engine, make_session_factory
from ledger.repository import Ledger

__all__ = [
    "CHANNELS", "LANGUAGES", "PURPOSES", "ChannelMessenger", "Invitation", "Messenger", "MessengerError", "NoRecipient",
    "SentMessage", "TextRefused", "make_invitation_links", "make_messenger",
]

NO_PROVIDER = "no_provider"
DEMO_PAGE_PREFIX = "/demo/"


class Unconfigured:
    """A channel without its provider while another channel's is real: nothing is sent, the worker tries the next."""

    async def send(self, invitation: Invitation) -> SentMessage:
        raise NoRecipient(NO_PROVIDER)


def check_chat_page(settings: Settings) -> None:
    """Real reminders must not link to the gateway's demo chat page: it is off once a provider is real (bot.app)."""
    if not settings.demo and urlsplit(settings.messenger.chat_page_url).path.startswith(DEMO_PAGE_PREFIX):
        raise ValueError(
            f"COLLECTIONS_MESSENGER_CHAT_PAGE_URL is {settings.messenger.chat_page_url!r}, a demo page, which is off "
            f"while a real provider is configured ({', '.join(settings.contact_providers())}): set it to the lender's "
            "page that embeds the web chat widget")


class ChannelMessenger:
    """Hands each invitation to its channel's messenger; `aclose` closes what it opened (Redis, a database engine)."""

    def __init__(self, by_channel: dict[str, Messenger], bindings: WeChatBindings | None = None,
                 engine: Engine | None = None) -> None:
        self._by_channel = by_channel
        self._bindings = bindings
        self._engine = engine

    async def send(self, invitation: Invitation) -> SentMessage:
        return await self._by_channel[invitation.channel].send(invitation)

    async def aclose(self) -> None:
        if self._bindings is not None:
            await self._bindings.aclose()
        if self._engine is not None:
            self._engine.dispose()


def make_messenger(settings: Settings, ledger: Ledger, sessions: sessionmaker[Session] | None = None,
                   bindings: WeChatBindings | None = None) -> ChannelMessenger:
    """`sessions`: the ledger database's, for the demo inbox (its own engine on settings.ledger when not given).
    `bindings`: who verified as whom on WeChat, by default the WeChat channel's state at REDIS_URL; without Redis
    the gateway's bindings cannot be seen from here, so no WeChat reminder finds its recipient (the worker then
    sends an SMS)."""
    config = settings.messenger
    texts = InvitationTexts.load(config.wording_file)
    check_chat_page(settings)
    owned_bindings = make_wechat_bindings(settings.redis_url) if bindings is None and settings.redis_url else None
    recipients = Recipients(ledger, bindings or owned_bindings, demo_borrowers=settings.demo)
    owned_engine = None
    fallback: Messenger = Unconfigured()
    if settings.demo:
        if sessions is None:
            owned_engine = make_engine(settings.ledger.url())
            sessions = make_session_factory(owned_engine)
        fallback = DemoMessenger(DemoInbox(sessions), recipients, texts)
    sms: Messenger = fallback
    if config.sms_configured():
        assert config.sms_account_sid and config.sms_auth_token and config.sms_from
        sms = SmsMessenger(TwilioSms(config.sms_api_base, config.sms_account_sid,
                                     config.sms_auth_token.get_secret_value(), config.sms_from,
                                     config.timeout_seconds), recipients, texts)
    chat: Messenger = fallback
    if settings.wechat_reminders_configured():
        assert settings.wechat.app_id and settings.wechat.app_secret and config.wechat_template_id
        api = WeChatApiClient(settings.wechat.api_base, settings.wechat.app_id,
                              settings.wechat.app_secret.get_secret_value(), config.timeout_seconds)
        chat = WeChatMessenger(api, recipients, texts, config.wechat_template_id, config.wechat_template_field)
    return ChannelMessenger({"sms": sms, "wechat": chat}, owned_bindings, owned_engine)


def make_invitation_links(settings: Settings) -> Callable[[str, str], str]:
    """(borrower id, the contact's attempt id) -> the chat page with a signed link for that reminder
    (campaigns.chat_links)."""
    return ChatLinks.from_settings(settings).for_reminder
