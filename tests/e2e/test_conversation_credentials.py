"""A conversation id is not a credential (issue 10, findings 4, 5's arrival, 6 and 14's channel), attacked
through the real stack: reading a transcript, posting as the borrower or resuming a chat needs the
conversation's secret; a chat opens only with a signed, unexpired link for a borrower the ledger knows,
and every refusal looks the same; the server records the channel; widget sessions are the gateway's own;
the gateway log holds no conversation ids or links."""
from __future__ import annotations

import uuid

import httpx
import pytest
import redis

from ledger.notices import notice

from bot.links import BorrowerLinks
from ledger.wording import yuan
from tests.e2e.chat import Chat, GatewayError, RestChat, bearer, borrower_link
from tests.e2e.console_client import PASSWORD, Console, add_console_accounts
from tests.e2e.widget import Widget

TAKEN_NOTICE = notice("zh", "taken")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def console_accounts(ledger_url):
    add_console_accounts(ledger_url)


@pytest.fixture
def rest_chat(stack, borrowers):
    opened: list[RestChat] = []

    def _open() -> RestChat:
        borrower, _ = borrowers.take()
        chat = RestChat(stack.gateway_url, borrower.borrower_id)
        opened.append(chat)
        return chat

    yield _open
    for chat in opened:
        chat.close()


def _refusals(http: httpx.Client, method: str, path: str, **request) -> list[httpx.Response]:
    """The same request with no secret, a malformed header, a guessed secret and another scheme."""
    return [http.request(method, path, headers=headers, **request) for headers in (
        {}, {"Authorization": "Bearer"}, bearer(uuid.uuid4().hex), {"Authorization": "Basic dXNlcjpwdw=="})]


def test_the_transcript_needs_the_conversation_secret_and_refusals_match_an_unknown_id(stack, rest_chat):
    victim, other = rest_chat(), rest_chat()
    victim.say("对，是我")
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as http:
        unknown = http.get(f"/api/conversations/{uuid.uuid4().hex}")
        assert unknown.status_code == 404
        refused = _refusals(http, "GET", f"/api/conversations/{victim.conversation_id}")
        refused.append(http.get(f"/api/conversations/{victim.conversation_id}",
                                headers={"Authorization": other.http.headers["Authorization"]}))
    for response in refused:  # no oracle: a wrong secret looks exactly like an id that does not exist
        assert (response.status_code, response.content) == (unknown.status_code, unknown.content)
    assert [entry["text"] for entry in victim.transcript() if entry["speaker"] == "borrower"] == ["对，是我"]


def test_posting_as_the_borrower_needs_the_secret(stack, rest_chat, rasa_requests):
    chat = rest_chat()
    before, reached_rasa = chat.transcript(), len(rasa_requests.of(chat.conversation_id))
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as http:
        refused = _refusals(http, "POST", f"/api/conversations/{chat.conversation_id}/messages",
                            json={"text": "我同意明天还清全部欠款"})
    assert {response.status_code for response in refused} == {404}
    assert chat.transcript() == before  # nothing was written, nothing reached Rasa
    assert len(rasa_requests.of(chat.conversation_id)) == reached_rasa
    assert "后四位" in chat.say("是我本人")


def test_resuming_a_chat_over_the_websocket_needs_the_secret(stack, verified_chat):
    chat, borrower, account = verified_chat()
    for secret in (None, uuid.uuid4().hex, chat.secret[:-1]):
        with pytest.raises(GatewayError) as refused:
            Chat(stack.gateway_url, conversation_id=chat.conversation_id, secret=secret)
        assert refused.value.args[0] == {"type": "error", "error": "unknown_conversation"}
    resumed = Chat(stack.gateway_url, conversation_id=chat.conversation_id, secret=chat.secret)
    try:
        assert yuan(account.balance_cents) in resumed.say("我还欠多少钱")  # the borrower's own socket still works
    finally:
        resumed.close()


def test_a_chat_opens_only_with_a_valid_link_and_every_refusal_is_the_same(stack, borrowers):
    borrower, _ = borrowers.take()
    good = borrower_link(borrower.borrower_id)
    bad_links = {
        "forged": BorrowerLinks(b"a key that is not the lender's").issue(borrower.borrower_id),
        "expired": borrower_link(borrower.borrower_id, hours=-0.01),
        "tampered": good[:-2] + ("xx" if not good.endswith("xx") else "yy"),
        "not a link": "B000001",
    }
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as http:
        answers = {name: http.post("/api/conversations", json={"borrower_link": link})
                   for name, link in bad_links.items()}
        bare_id = http.post("/api/conversations", json={"borrower_id": borrower.borrower_id})
    assert {(r.status_code, r.content) for r in answers.values()} == {(401, b'{"error":"invalid_link"}')}, answers
    assert bare_id.status_code == 422  # the old way in (any borrower id) is gone
    for name, link in bad_links.items():
        with pytest.raises(GatewayError) as refused:
            Chat(stack.gateway_url, link=link)
        assert refused.value.args[0] == {"type": "error", "error": "invalid_link"}, name


def test_the_server_records_the_channel_not_the_client(stack, borrowers):
    borrower, _ = borrowers.take()
    with httpx.Client(base_url=stack.gateway_url, timeout=60) as http:
        opened = http.post("/api/conversations",
                           json={"borrower_link": borrower_link(borrower.borrower_id), "channel": "phone"})
        assert opened.status_code == 201
        read = http.get(f"/api/conversations/{opened.json()['conversation_id']}",
                        headers=bearer(opened.json()["secret"]))
    assert read.json()["channel"] == "rest"


def test_an_agent_refused_by_the_console_cannot_read_the_conversation_elsewhere(
        stack, open_chat, borrowers, console_accounts):
    borrower, _ = borrowers.take()
    chat = open_chat(borrower.borrower_id)
    chat.say("对，是我")
    agent = Console(stack.gateway_url, "e2e-agent-a", PASSWORD)
    try:
        assert agent.view(chat.conversation_id).status_code == 403  # neither waiting nor theirs
        # The agent's console token is no conversation secret, and the public API has nothing else to offer.
        assert agent.http.get(f"/api/conversations/{chat.conversation_id}").status_code == 404
        assert httpx.get(f"{stack.gateway_url}/api/conversations/{chat.conversation_id}", timeout=30).status_code == 404
    finally:
        agent.close()


def _conversation_of(redis_url: str, session_id: str) -> str:
    with redis.Redis.from_url(redis_url, decode_responses=True) as store:
        return store.get(f"collections:webchat:session:{session_id}")


def test_a_client_chosen_or_forged_widget_session_never_reaches_another_borrowers_chat(
        stack, borrowers, redis_url):
    victim_borrower, _ = borrowers.take()
    attacker_borrower, _ = borrowers.take()
    victim, attacker = Widget(stack.gateway_url), Widget(stack.gateway_url)
    try:
        chosen = "victim-picked-session-0001"
        issued = victim.request_session(chosen)
        assert issued != chosen  # only the gateway issues session ids
        victim.utter("/start", {"borrower_link": borrower_link(victim_borrower.borrower_id)})
        victim.hear("本人吗")
        value, signature = issued.split(".")
        for presented in (chosen, value, f"{value}.{signature[:-2]}AA", f"{uuid.uuid4().hex}.{signature}"):
            assert attacker.request_session(presented) not in (issued, presented)
        victim.say("对，是我", "后四位")  # the victim's turn: replies go to the victim's session only
        attacker.request_session(None)
        attacker.utter("/start", {"borrower_link": borrower_link(attacker_borrower.borrower_id)})
        kind, first = attacker.next()
        assert kind == "bot_uttered" and "后四位" not in first["text"], first
        assert _conversation_of(redis_url, attacker.session_id) != _conversation_of(redis_url, issued)
    finally:
        victim.close()
        attacker.close()


def test_a_socket_presenting_a_conversation_id_cannot_take_the_push_route(
        stack, borrowers, redis_url, console_accounts):
    victim_borrower, _ = borrowers.take()
    attacker_borrower, _ = borrowers.take()
    victim, attacker = Widget(stack.gateway_url), Widget(stack.gateway_url)
    agent = Console(stack.gateway_url, "e2e-supervisor", PASSWORD)
    try:
        victim.open(victim_borrower.borrower_id)
        conversation_id = _conversation_of(redis_url, victim.session_id)
        assert attacker.request_session(conversation_id) != conversation_id  # never a session id
        assert agent.take(conversation_id).status_code == 200  # a supervisor may take any live conversation
        assert victim.next(30) == ("bot_uttered", {"text": TAKEN_NOTICE})  # the push went to the borrower
        assert agent.send(conversation_id, "您好，我是人工专员。").status_code == 200
        assert victim.next(30) == ("bot_uttered", {"text": "您好，我是人工专员。"})
        attacker.utter("/start", {"borrower_link": borrower_link(attacker_borrower.borrower_id)})
        kind, first = attacker.next()  # its own opening comes first: none of the agent's words reached it
        assert kind == "bot_uttered" and first["text"] not in (TAKEN_NOTICE, "您好，我是人工专员。"), first
        assert agent.hand_back(conversation_id).status_code == 200
    finally:
        agent.close()
        victim.close()
        attacker.close()


def test_a_reloaded_widget_tab_resumes_its_own_session(stack, borrowers):
    borrower, _ = borrowers.take()
    first = Widget(stack.gateway_url)
    try:
        first.open(borrower.borrower_id)
        session_id = first.session_id
    finally:
        first.close()
    reloaded = Widget(stack.gateway_url)
    try:
        assert reloaded.request_session(session_id) == session_id
        reloaded.utter("/start")  # the widget re-sends its init payload: no second opening
        assert "后四位" in reloaded.say("对，是我", "后四位")
    finally:
        reloaded.close()


def test_the_gateway_log_holds_no_conversation_ids_or_links(stack, borrowers, console_accounts):
    borrower, _ = borrowers.take()
    link = borrower_link(borrower.borrower_id)
    chat = Chat(stack.gateway_url, link=link)
    chat.say("对，是我")
    chat.close()
    resumed = Chat(stack.gateway_url, conversation_id=chat.conversation_id, secret=chat.secret)
    resumed.close()
    chat.transcript()
    httpx.get(f"{stack.gateway_url}/api/conversations/{chat.conversation_id}", timeout=30)  # refused, still logged
    supervisor = Console(stack.gateway_url, "e2e-supervisor", PASSWORD)
    try:
        assert supervisor.view(chat.conversation_id).status_code == 200
    finally:
        supervisor.close()
    log = (stack.config.log_dir / "gateway.log").read_text(encoding="utf-8", errors="replace")
    assert f"/api/conversations/{chat.conversation_id[:1]}***{chat.conversation_id[-3:]}" in log  # logged, masked
    for secret in (chat.conversation_id, link, chat.secret):
        assert secret not in log
