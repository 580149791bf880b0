"""Chat reminders (campaigns.messenger): the words carry no debt detail in any purpose or language and pass the
compliance filter; SMS goes to the number on file through a fake of Twilio's Messages API over real HTTP (auth
checked, requests recorded); WeChat goes as a template message to the bound WeChat user through the fake WeChat
API; failures are MessengerErrors the worker can record, never retried into a storm; the demo messenger keeps
reminders for /demo/inbox."""
from __future__ import annotations

import re
import socket
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.channels.state import InMemoryChannelState, RedisChannelState
from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_api import WeChatApiClient
from bot.channels.wechat_bindings import WeChatBindings
from bot.conversations import TurnResult
from bot.links import BorrowerLinks, InvalidLink
from campaigns.chat_links import ChatLinks
from campaigns.demo_inbox import DemoInbox, DemoMessenger
from campaigns.invitations import InvitationTexts
from campaigns.messenger import (
    CHANNELS, LANGUAGES, PURPOSES, ChannelMessenger, Invitation, MessengerError, NoRecipient, TextRefused,
    Unconfigured, make_messenger,
)
from campaigns.recipients import Recipients
from campaigns.sms import SmsMessenger, TwilioSms
from campaigns.wechat_messenger import WeChatMessenger
from compliance_filters import check
from configuration.files import ConfigFileError
from configuration.settings import MessengerSettings, Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import Borrower, DoNotContact
from ledger.phones import e164
from ledger.phrasebook import Phrasebook
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.fakes.sms_api import FakeTwilioSms
from tests.fakes.wechat_api import FakeWeChatApi

WORDING = MessengerSettings().wording_file
ACCOUNT_SID, AUTH_TOKEN, SENDER = "AC0123456789abcdef0123456789abcdef", "twilio-token-for-tests", "+15005550006"
APP_ID, APP_SECRET, TEMPLATE_ID, OPENID = "wx0123456789abcdef", "secret-for-tests", "tmpl-reminder-1", "o-reminder-openid"
LINK = "https://chat.example.com/demo/webchat?link=eyJhIjoxfQ.signature-part"
CHAT_PAGE = "https://chat.example.com/chat"  # a real reminder's page: the lender's, not the gateway's demo page
# Words and signs that would tell a reader there is a debt, whose it is or how much (zh and en).
DEBT_WORDS = re.compile(r"欠|债|贷|逾期|还款|还钱|催收|金额|本金|利息|账单|元|银行|金融|"
                        r"debt|loan|owe|overdue|past due|payment|balance|collect|lender|creditor|arrears|\$|¥|\d",
                        re.IGNORECASE)


@pytest.fixture(scope="module")
def texts() -> InvitationTexts:
    return InvitationTexts.load(WORDING)


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=6, as_of=date(2026, 11, 23), us_count=1)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def ledger(sessions) -> Ledger:
    return Ledger(sessions)


@pytest.fixture
def borrower_id(sessions) -> str:
    with sessions() as session:
        return session.scalars(select(Borrower.borrower_id).order_by(Borrower.borrower_id)).first()


def invitation(borrower_id: str, channel: str = "sms", language: str = "zh", purpose: str = "overdue") -> Invitation:
    return Invitation(borrower_id, channel, language, purpose, LINK)  # type: ignore[arg-type]


def _without_link(text: str) -> str:
    return text.replace(LINK, "")


# ---- the words ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_no_invitation_names_a_debt_an_amount_or_a_creditor(texts, purpose, language, channel):
    text = texts.for_channel(invitation("B000001", channel, language, purpose))
    assert not DEBT_WORDS.search(_without_link(text)), text
    assert check(text, {"identity_verified": False}).allowed
    assert (LINK in text) == (channel == "sms")  # a WeChat card opens the link instead of showing it
    assert bool(re.search(r"[\u4e00-\u9fff]", _without_link(text))) == (language == "zh")


def test_each_purpose_has_its_own_neutral_words(texts):
    for language in LANGUAGES:
        assert len({texts.for_channel(invitation("B1", "wechat", language, purpose)) for purpose in PURPOSES}) \
            == len(PURPOSES)


@pytest.mark.parametrize("change, key", [
    (lambda w: w.replace("有一件事需要与您本人沟通", "您的贷款已经逾期，请尽快还款"), "purposes.overdue.zh"),
    (lambda w: w.replace("We need to speak with you personally.", "Your loan is overdue."), "purposes.overdue.en"),
    (lambda w: w.replace("您有一项近期安排的提醒", "您有一笔3000的安排"), "purposes"),       # an amount
    (lambda w: w.replace("您之前希望我们再与您联系", "{name}您好"), "purposes"),             # a value to fill
    (lambda w: w.replace('"Secure link: {link}"', '"Secure link"'), "link_line"),            # no link
    (lambda w: re.sub(r"\n  callback:\n.*\n.*\n", "\n", w), "purposes.callback"),             # a purpose missing
])
def test_a_wording_file_that_could_disclose_stops_the_start(tmp_path, change, key):
    changed = change(WORDING.read_text(encoding="utf-8"))
    assert changed != WORDING.read_text(encoding="utf-8")
    path = tmp_path / "invitations.yml"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(ConfigFileError) as raised:
        InvitationTexts.load(path)
    assert raised.value.key.startswith(key), raised.value


@pytest.mark.parametrize("page", ["https://quick-loan.example/chat", "https://chat.example/overdue",
                                  "https://lender.example/chat"])
def test_a_chat_page_whose_address_names_a_loan_is_refused_like_words(texts, page):
    """The link is part of the text: an address naming a loan or a lender discloses as words would."""
    refused = [language for language in LANGUAGES
               if _refused(texts, Invitation("B000001", "sms", language, "overdue", f"{page}?link=abc"))]
    assert refused, page


def _refused(texts: InvitationTexts, invitation: Invitation) -> bool:
    try:
        texts.for_channel(invitation)
    except TextRefused:
        return True
    return False


@pytest.mark.parametrize("field, value", [
    ("channel", "email"), ("language", "fr"), ("purpose", "threat"), ("link", "javascript:alert(1)"),
    ("link", "https://x.example/a b"), ("link", "https://x.example/" + "a" * 1100), ("borrower_id", ""),
])
def test_an_invitation_with_a_bad_field_is_refused(field, value):
    fields = dict(borrower_id="B000001", channel="sms", language="zh", purpose="overdue", link=LINK)
    fields[field] = value
    with pytest.raises(ValueError):
        Invitation(**fields)


# ---- SMS ---------------------------------------------------------------------------------------------------


def _sms(fake: FakeTwilioSms, ledger: Ledger, texts: InvitationTexts, token: str = AUTH_TOKEN) -> SmsMessenger:
    return SmsMessenger(TwilioSms(fake.base_url, ACCOUNT_SID, token, SENDER, timeout_seconds=5), Recipients(ledger), texts)


@pytest.mark.asyncio
async def test_an_sms_goes_to_the_number_on_file_with_the_invitation_and_the_link(ledger, texts, borrower_id):
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        sent = await _sms(fake, ledger, texts).send(invitation(borrower_id, language="en", purpose="pre_due_reminder"))
    [request] = fake.requests
    assert request.authorised and request.account_sid == ACCOUNT_SID
    assert request.form["To"] == e164(ledger.contact_phone(borrower_id))
    assert request.form["From"] == SENDER
    assert request.form["Body"] == sent.text and sent.text.endswith(f"Secure link: {LINK}")
    assert sent.channel == "sms" and sent.provider_message_id.startswith("SM")


@pytest.mark.asyncio
async def test_a_messaging_service_sender_is_sent_as_such(ledger, texts, borrower_id):
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        provider = TwilioSms(fake.base_url, ACCOUNT_SID, AUTH_TOKEN, "MG0123456789abcdef0123456789abcdef")
        await SmsMessenger(provider, Recipients(ledger), texts).send(invitation(borrower_id))
    assert fake.delivered[0]["MessagingServiceSid"].startswith("MG") and "From" not in fake.delivered[0]


@pytest.mark.parametrize("status, reason, permanent", [
    (400, "provider_rejected", True),      # e.g. 21211: not a valid number
    (429, "provider_unavailable", False),
    (500, "provider_unavailable", False),
    (503, "provider_unavailable", False),
])
@pytest.mark.asyncio
async def test_a_provider_failure_is_one_request_and_a_recordable_error(ledger, texts, borrower_id, status, reason,
                                                                      permanent):
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        fake.answer_next(status)
        with pytest.raises(MessengerError) as raised:
            await _sms(fake, ledger, texts).send(invitation(borrower_id))
        assert (raised.value.reason, raised.value.permanent) == (reason, permanent)
        assert str(status) in raised.value.detail
        assert len(fake.requests) == 1 and not fake.delivered  # no retry
        await _sms(fake, ledger, texts).send(invitation(borrower_id))  # the next one goes through
    assert len(fake.delivered) == 1


@pytest.mark.asyncio
async def test_a_number_the_carrier_says_opted_out_gets_no_more_sms_until_it_texts_start(ledger, texts, borrower_id):
    """Twilio refuses a text to a number that sent STOP (400, code 21610): that is the borrower's opt-out, recorded
    as the carrier's, and the next reminder is refused here without asking the provider again."""
    number = e164(ledger.contact_phone(borrower_id))
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        fake.unsubscribe(number)
        with pytest.raises(NoRecipient) as refused:
            await _sms(fake, ledger, texts).send(invitation(borrower_id))
        assert refused.value.reason == "sms_opted_out" and ledger.sms_opted_out(number)
        with pytest.raises(NoRecipient) as again:
            await _sms(fake, ledger, texts).send(invitation(borrower_id))
        assert again.value.reason == "sms_opted_out"
        assert len(fake.requests) == 1 and not fake.delivered  # asked once, never again
        assert ledger.clear_sms_opt_out(number, "START")
        fake.resubscribe(number)
        await _sms(fake, ledger, texts).send(invitation(borrower_id))
    assert len(fake.delivered) == 1
    assert not ledger.get_borrower(borrower_id).do_not_contact  # an SMS opt-out stops SMS, not every contact


@pytest.mark.asyncio
async def test_wrong_credentials_are_a_permanent_refusal_that_names_no_secret(ledger, texts, borrower_id):
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        with pytest.raises(MessengerError) as raised:
            await _sms(fake, ledger, texts, token="not-the-token").send(invitation(borrower_id))
    assert raised.value.permanent and raised.value.reason == "provider_rejected" and "20003" in raised.value.detail
    assert "not-the-token" not in str(raised.value)
    assert [r.authorised for r in fake.requests] == [False]


@pytest.mark.asyncio
async def test_an_unreachable_provider_may_succeed_later(ledger, texts, borrower_id):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}"  # bound, not listening: refused
        messenger = SmsMessenger(TwilioSms(closed, ACCOUNT_SID, AUTH_TOKEN, SENDER, 2), Recipients(ledger), texts)
        with pytest.raises(MessengerError) as raised:
            await messenger.send(invitation(borrower_id))
    assert raised.value.reason == "provider_unavailable" and not raised.value.permanent


@pytest.mark.asyncio
async def test_nobody_to_send_to_is_a_no_recipient_and_nothing_is_sent(ledger, sessions, texts, borrower_id):
    with sessions.begin() as session:
        ids = list(session.scalars(select(Borrower.borrower_id).order_by(Borrower.borrower_id)))
        no_number, masked, stopped, paused = ids[1], ids[2], ids[3], ids[4]
        session.get(Borrower, no_number).phone = ""
        session.get(Borrower, masked).phone = "138****5210"
        session.add(DoNotContact(borrower_id=stopped, reason="asked to stop", source="test"))
        session.get(Borrower, paused).collection_paused = True
    expected = {"B999999": "unknown_borrower", "x' OR '1'='1": "unknown_borrower", no_number: "no_phone_number",
                masked: "no_phone_number", stopped: "contact_stopped", paused: "contact_stopped"}
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        messenger = _sms(fake, ledger, texts)
        for who, reason in expected.items():
            with pytest.raises(NoRecipient) as raised:
                await messenger.send(invitation(who))
            assert raised.value.reason == reason and raised.value.permanent, who
    assert fake.requests == []


@pytest.mark.asyncio
async def test_a_text_the_filter_refuses_is_never_sent(ledger, borrower_id):
    debt = {"zh": "您的贷款已逾期，欠款5000元。", "en": "Your loan is overdue: you owe $5,000."}
    bad = InvitationTexts(Phrasebook({purpose: debt for purpose in PURPOSES}),
                          Phrasebook({"link": {"zh": "{link}", "en": "{link}"}}))
    with FakeTwilioSms(ACCOUNT_SID, AUTH_TOKEN) as fake:
        for language in LANGUAGES:
            with pytest.raises(TextRefused) as raised:
                await _sms(fake, ledger, bad).send(invitation(borrower_id, language=language))
            assert raised.value.reason == "text_refused" and raised.value.rules
    assert fake.requests == []


# ---- WeChat ------------------------------------------------------------------------------------------------


def _wechat(fake: FakeWeChatApi, ledger: Ledger, texts: InvitationTexts, bindings: WeChatBindings) -> WeChatMessenger:
    api = WeChatApiClient(fake.base_url, APP_ID, APP_SECRET, timeout_seconds=5)
    return WeChatMessenger(api, Recipients(ledger, bindings), texts, TEMPLATE_ID)


@pytest.mark.asyncio
async def test_a_wechat_reminder_is_a_template_card_to_the_bound_user_opening_the_link(ledger, texts, borrower_id):
    bindings = WeChatBindings(InMemoryChannelState())
    await bindings.bind(OPENID, borrower_id)
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        sent = await _wechat(fake, ledger, texts, bindings).send(invitation(borrower_id, "wechat", "zh", "promise_due"))
    [card] = fake.templates
    assert (card["touser"], card["template_id"], card["url"]) == (OPENID, TEMPLATE_ID, LINK)
    assert card["data"] == {"content": {"value": sent.text}} and card["_raw_utf8"]
    assert sent.channel == "wechat" and sent.provider_message_id == "1001"


@pytest.mark.asyncio
async def test_a_borrower_without_a_bound_wechat_user_gets_no_card(ledger, texts, borrower_id, sessions):
    bindings = WeChatBindings(InMemoryChannelState())
    with sessions() as session:
        other, unbound = session.scalars(select(Borrower.borrower_id).order_by(Borrower.borrower_id)).all()[1:3]
    await bindings.bind(OPENID, borrower_id)
    await bindings.bind(OPENID, other)  # the same WeChat user later verified as someone else
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        messenger = _wechat(fake, ledger, texts, bindings)
        for who in (borrower_id, unbound):
            with pytest.raises(NoRecipient) as raised:
                await messenger.send(invitation(who, "wechat"))
            assert raised.value.reason == "no_wechat_binding"
        await bindings.forget(OPENID)  # unfollowed
        with pytest.raises(NoRecipient):
            await messenger.send(invitation(other, "wechat"))
    assert fake.template_requests == 0


@pytest.mark.parametrize("errcode, reason, permanent", [
    (-1, "provider_unavailable", False), (45009, "provider_unavailable", False), (40037, "provider_rejected", True),
])
@pytest.mark.asyncio
async def test_a_wechat_error_is_one_request_and_a_recordable_error(ledger, texts, borrower_id, errcode, reason,
                                                                   permanent):
    bindings = WeChatBindings(InMemoryChannelState())
    await bindings.bind(OPENID, borrower_id)
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        fake.template_errcodes.append(errcode)
        with pytest.raises(MessengerError) as raised:
            await _wechat(fake, ledger, texts, bindings).send(invitation(borrower_id, "wechat"))
    assert (raised.value.reason, raised.value.permanent) == (reason, permanent)
    assert fake.template_requests == 1 and not fake.templates


@pytest.mark.asyncio
async def test_a_user_who_unfollowed_is_no_recipient(ledger, texts, borrower_id):
    bindings = WeChatBindings(InMemoryChannelState())
    await bindings.bind(OPENID, borrower_id)
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        fake.unfollowed.add(OPENID)
        with pytest.raises(NoRecipient) as raised:
            await _wechat(fake, ledger, texts, bindings).send(invitation(borrower_id, "wechat"))
    assert raised.value.reason == "wechat_not_following" and fake.template_requests == 1


@pytest.mark.asyncio
async def test_an_expired_access_token_is_renewed_and_the_card_sent_once(ledger, texts, borrower_id):
    bindings = WeChatBindings(InMemoryChannelState())
    await bindings.bind(OPENID, borrower_id)
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        messenger = _wechat(fake, ledger, texts, bindings)
        await messenger.send(invitation(borrower_id, "wechat"))
        fake.expire_tokens()
        await messenger.send(invitation(borrower_id, "wechat", "en"))
    assert len(fake.templates) == 2 and fake.template_requests == 3 and len(fake.token_requests) == 2


# ---- links, the demo messenger and the choice of messenger ---------------------------------------------------


@pytest.mark.asyncio
async def test_a_chat_link_opens_the_chat_page_for_that_borrower_until_it_expires():
    now = [1_800_000_000.0]
    links = BorrowerLinks(b"k" * 32, clock=lambda: now[0])
    url = ChatLinks(links, "https://lender.example/chat?from=sms", hours=2).for_borrower("B000004")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://lender.example/chat" and query["from"] == ["sms"]
    assert links.admit(query["link"][0]) == "B000004"
    Invitation("B000004", "sms", "zh", "callback", url)  # a valid invitation link
    now[0] += 2 * 3600 + 1
    with pytest.raises(InvalidLink):
        links.admit(query["link"][0])


@pytest.mark.asyncio
async def test_the_demo_messenger_keeps_what_would_be_sent_with_the_number_masked(ledger, sessions, texts,
                                                                                 borrower_id):
    """And refuses what the real ones refuse: a WeChat card needs a WeChat user verified as the borrower."""
    inbox = DemoInbox(sessions)
    bindings = WeChatBindings(InMemoryChannelState())
    messenger = DemoMessenger(inbox, Recipients(ledger, bindings), texts)
    sms = await messenger.send(invitation(borrower_id, "sms", "zh", "instalment_due"))
    with pytest.raises(NoRecipient) as unbound:
        await messenger.send(invitation(borrower_id, "wechat", "en", "callback"))
    await bindings.bind(OPENID, borrower_id)
    card = await messenger.send(invitation(borrower_id, "wechat", "en", "callback"))
    with pytest.raises(NoRecipient) as unknown:
        await messenger.send(invitation("B999999"))
    assert (unbound.value.reason, unknown.value.reason) == ("no_wechat_binding", "unknown_borrower")
    kept = inbox.latest(borrower_id)
    assert [(m.channel, m.text, m.link) for m in kept] == [("wechat", card.text, LINK), ("sms", sms.text, LINK)]
    number = e164(ledger.contact_phone(borrower_id))
    assert kept[1].recipient == f"{number[:-8]}****{number[-4:]}" and number not in kept[1].recipient
    assert sms.provider_message_id == f"demo-{kept[1].id}"
    assert inbox.latest("B999999") == [] and len(inbox.latest()) == 2


def test_the_demo_inbox_takes_both_channels_only_while_no_provider_is_real(ledger, sessions):
    demo = Settings(_env_file=None)
    assert demo.demo
    chosen = make_messenger(demo, ledger, sessions)._by_channel
    assert isinstance(chosen["sms"], DemoMessenger) and chosen["sms"] is chosen["wechat"]
    real = Settings(_env_file=None, wechat={"app_id": APP_ID, "app_secret": APP_SECRET},
                    messenger={"sms_account_sid": ACCOUNT_SID, "sms_auth_token": AUTH_TOKEN, "sms_from": SENDER,
                               "wechat_template_id": TEMPLATE_ID, "chat_page_url": CHAT_PAGE})
    assert not real.demo
    messenger = make_messenger(real, ledger, sessions, bindings=WeChatBindings(InMemoryChannelState()))
    assert isinstance(messenger, ChannelMessenger)
    assert isinstance(messenger._by_channel["sms"], SmsMessenger)
    assert isinstance(messenger._by_channel["wechat"], WeChatMessenger)
    # SMS real, WeChat not: a WeChat reminder goes nowhere (the demo inbox, on the public gateway, is off).
    half = Settings(_env_file=None, messenger={"sms_account_sid": ACCOUNT_SID, "sms_auth_token": AUTH_TOKEN,
                                               "sms_from": SENDER, "chat_page_url": CHAT_PAGE})
    chosen = make_messenger(half, ledger, sessions)._by_channel
    assert not half.demo and isinstance(chosen["sms"], SmsMessenger)
    assert isinstance(chosen["wechat"], Unconfigured)


def test_the_wording_file_setting_is_validated_at_start(tmp_path, ledger, sessions):
    with pytest.raises(ConfigFileError):
        make_messenger(Settings(_env_file=None, messenger={"wording_file": tmp_path / "missing.yml"}), ledger, sessions)
    with pytest.raises(ValueError):
        MessengerSettings(chat_page_url="ftp://lender.example/chat")


@pytest.mark.asyncio
async def test_bindings_are_found_both_ways_and_forgotten_on_unfollow():
    bindings = WeChatBindings(InMemoryChannelState())
    await bindings.bind("o-1", "B000001")
    assert await bindings.borrower_of("o-1") == "B000001" and await bindings.openid_of("B000001") == "o-1"
    await bindings.bind("o-2", "B000001")  # a second WeChat account verified as the same borrower: the newest
    assert await bindings.openid_of("B000001") == "o-2" and await bindings.borrower_of("o-1") == "B000001"
    await bindings.forget("o-2")
    assert await bindings.openid_of("B000001") is None and await bindings.borrower_of("o-2") is None


@pytest.mark.asyncio
async def test_the_worker_finds_in_redis_the_wechat_user_the_gateway_verified(unit_redis_url, ledger, sessions,
                                                                            borrower_id):
    """The gateway's WeChat channel and the worker's messenger are separate processes with separate Redis
    connections: what a verified WeChat conversation binds is what the reminder reads."""
    openid = f"o-redis-{uuid.uuid4().hex}"
    with sessions.begin() as session:  # the lender's borrower: a real provider never reaches a made-up one
        session.get(Borrower, borrower_id).source = "portfolio"
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        settings = Settings(_env_file=None, redis_url=unit_redis_url,
                            wechat={"token": "token", "app_id": APP_ID, "app_secret": APP_SECRET,
                                    "api_base": fake.base_url},
                            messenger={"wechat_template_id": TEMPLATE_ID, "chat_page_url": CHAT_PAGE})
        gateway = WeChatChannel(settings)
        worker = make_messenger(settings, ledger, sessions)
        try:
            await gateway._after_turn(openid, "conv-redis", borrower_id, TurnResult([], False, identity_verified=True))
            sent = await worker.send(invitation(borrower_id, "wechat", "en", "callback"))
            await gateway._forget(openid)  # unfollowed
            with pytest.raises(NoRecipient):
                await worker.send(invitation(borrower_id, "wechat"))
        finally:
            await worker.aclose()
            await gateway._state.delete(f"conv:{openid}")
            await gateway._state.delete("push-to:conv-redis")
            await gateway._state.aclose()
    assert [(card["touser"], card["data"]["content"]["value"]) for card in fake.templates] == [(openid, sent.text)]


@pytest.mark.asyncio
async def test_with_redis_down_a_wechat_reminder_fails_closed_and_may_succeed_later(ledger, texts, borrower_id):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        bindings = WeChatBindings(RedisChannelState(f"redis://127.0.0.1:{unused.getsockname()[1]}/0", "test"))
        with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
            with pytest.raises(MessengerError) as raised:
                await _wechat(fake, ledger, texts, bindings).send(invitation(borrower_id, "wechat"))
        await bindings.aclose()
    assert raised.value.reason == "lookup_unavailable" and not raised.value.permanent
    assert fake.template_requests == 0
