"""Which messenger each channel uses, from the settings: SMS through Twilio when its account SID, auth token and
sender are set; WeChat as template messages when the WeChat app id, app secret and template id are set; otherwise
the channel's reminders go to the demo inbox (campaigns.demo_inbox). The wording file is read and checked here,
so a bad one stops the worker at start."""
from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat_api import WeChatApiClient
from bot.channels.wechat_bindings import WeChatBindings, make_wechat_bindings
from campaigns.demo_inbox import DemoInbox, DemoMessenger
from campaigns.messenger import Invitation, InvitationTexts, Messenger, SentMessage
from campaigns.recipients import Recipients
from campaigns.sms import SmsMessenger, TwilioSms
from campaigns.wechat_messenger import WeChatMessenger
from configuration.settings import Settings
from ledger.repository import Ledger


def wechat_configured(settings: Settings) -> bool:
    return bool(settings.wechat.app_id and settings.wechat.app_secret is not None
                and settings.messenger.wechat_template_id)


def demo_inbox_in_use(settings: Settings) -> bool:
    return not (settings.messenger.sms_configured() and wechat_configured(settings))


class ChannelMessenger:
    """Hands each invitation to its channel's messenger; `aclose` closes what they hold (a Redis connection)."""

    def __init__(self, by_channel: dict[str, Messenger], bindings: WeChatBindings | None = None) -> None:
        self._by_channel = by_channel
        self._bindings = bindings

    async def send(self, invitation: Invitation) -> SentMessage:
        return await self._by_channel[invitation.channel].send(invitation)

    async def aclose(self) -> None:
        if self._bindings is not None:
            await self._bindings.aclose()


def make_messenger(settings: Settings, ledger: Ledger, sessions: sessionmaker[Session],
                   bindings: WeChatBindings | None = None) -> ChannelMessenger:
    """`bindings` default to the WeChat channel's state at REDIS_URL (without Redis the worker cannot see the
    gateway's bindings, so WeChat reminders find no recipient)."""
    config = settings.messenger
    texts = InvitationTexts.load(config.wording_file)
    wechat = wechat_configured(settings)
    owned = make_wechat_bindings(settings.redis_url) if wechat and bindings is None else None
    recipients = Recipients(ledger, bindings or owned)
    demo = DemoMessenger(DemoInbox(sessions), recipients, texts) if demo_inbox_in_use(settings) else None
    sms: Messenger | None = demo
    if config.sms_configured():
        assert config.sms_account_sid and config.sms_auth_token and config.sms_from
        sms = SmsMessenger(TwilioSms(config.sms_api_base, config.sms_account_sid,
                                     config.sms_auth_token.get_secret_value(), config.sms_from,
                                     config.timeout_seconds), recipients, texts)
    chat: Messenger | None = demo
    if wechat:
        assert settings.wechat.app_id and settings.wechat.app_secret and config.wechat_template_id
        api = WeChatApiClient(settings.wechat.api_base, settings.wechat.app_id,
                              settings.wechat.app_secret.get_secret_value(), config.timeout_seconds)
        chat = WeChatMessenger(api, recipients, texts, config.wechat_template_id, config.wechat_template_field)
    assert sms is not None and chat is not None
    return ChannelMessenger({"sms": sms, "wechat": chat}, owned)
