"""Quality review in the ledger (ledger.quality_review): which conversations the rules and the seeded sample choose,
from real audit records, handoffs, claims, identity checks and campaign contacts, on SQLite and PostgreSQL; the one
review per item; the results per agent, script and day."""
from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.audit import AuditTrail
from ledger.errors import NotFound
from ledger.models import CampaignContact
from ledger.quality_review import AlreadyReviewed, InvalidReview, QualityReviewBook, SamplingPolicy, draw
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.unit.ledger_databases import session_factory  # noqa: F401 - a fixture: each test on SQLite and PostgreSQL

DAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LATER = DAY + timedelta(hours=6)  # every conversation below has been quiet for hours by then
NO_SAMPLE = SamplingPolicy(seed="test", default_rate=0.0, quiet_minutes=30)
ALL_PASS = {"identity_before_detail": "pass", "ai_disclosed": "pass", "no_pressure": "pass",
            "correct_figures": "na", "handoff_when_asked": "na"}


@pytest.fixture
def ledger(session_factory):
    seed_demo_portfolio(session_factory, count=8, as_of=DAY.date())
    return Ledger(session_factory)


@pytest.fixture
def audit(session_factory):
    return AuditTrail(session_factory, b"k" * 32)


def book(session_factory, ledger, sampling=NO_SAMPLE) -> QualityReviewBook:
    return QualityReviewBook(session_factory, ledger, sampling)


def talk(audit, conversation_id, borrower_id="B000001", at=DAY, blocked_rules=None):
    """A short exchange in the audit trail; blocked_rules: the bot's first attempt was blocked by these."""
    audit.append(conversation_id, borrower_id, "chat", "borrower", "你好", at=at)
    if blocked_rules:
        audit.append(conversation_id, borrower_id, "chat", "bot", "不还钱就上门", allowed=False, rules=blocked_rules,
                      at=at + timedelta(seconds=1))
    audit.append(conversation_id, borrower_id, "chat", "bot", "您好，我是智能助手。", allowed=True,
                 at=at + timedelta(seconds=2))


def chosen(review_book) -> dict[str, list[str]]:
    return {item.conversation_id: [reason.rule for reason in item.reasons] for item in review_book.items(None)}


def test_each_rule_chooses_its_conversations_and_nothing_else(session_factory, ledger, audit):
    for conversation_id in ("c-clean", "c-block", "c-distress", "c-dispute", "c-unverified-dispute", "c-unverified-stop",
                            "c-vented", "c-lock", "c-two-fails", "c-nlu", "c-requested"):
        talk(audit, conversation_id, blocked_rules=["threat_of_visit"] if conversation_id == "c-block" else None)
    ledger.record_handoff("c-distress", "B000001", "distress", 0)
    ledger.record_claim("B000001", None, "c-dispute", "dispute", "不是我借的")
    ledger.record_review_request("c-unverified-dispute", "B000001", "chat", "dispute", "我没借过")
    ledger.record_review_request("c-unverified-stop", "B000001", "chat", "do_not_contact", "别再打了")
    assert ledger.record_complaint("c-vented", "B000001", "chat", "你们烦不烦啊，天天打", DAY)
    assert not ledger.record_complaint("c-vented", "B000001", "chat", "还打", DAY)  # once per conversation
    ledger.record_handoff("c-nlu", "B000001", "nlu_fallback", 3)
    ledger.record_handoff("c-requested", "B000001", "requested", 2)  # asking for a person is not a finding
    for minute in range(5):  # policy.yml: five failures lock the check
        ledger.check_identity("B000003", "c-lock", "chat", id_last4="0000", at=DAY + timedelta(minutes=minute))
    for minute in range(2):
        ledger.check_identity("B000004", "c-two-fails", "chat", id_last4="0000", at=DAY + timedelta(minutes=minute))

    review = book(session_factory, ledger)
    assert review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER) == 8
    assert chosen(review) == {
        "c-block": ["compliance_block"], "c-distress": ["distress"], "c-dispute": ["dispute"],
        "c-unverified-dispute": ["dispute"], "c-unverified-stop": ["complaint"], "c-vented": ["complaint"], "c-lock": ["verification_lockout"],
        "c-nlu": ["not_understood"],
    }
    block = next(item for item in review.items(None) if item.conversation_id == "c-block")
    assert block.reasons[0].detail == "bot: threat_of_visit"
    assert (block.agent, block.script, block.day, block.sample_seed) == ("bot", "inbound", DAY.date(), None)
    vented = next(item for item in review.items(None) if item.conversation_id == "c-vented")
    assert vented.reasons[0].detail == "complained about being contacted: 你们烦不烦啊，天天打"


def test_a_borrowers_stop_request_is_a_complaint_in_the_conversation_it_was_made_in(session_factory, ledger, audit):
    # do_not_contact names no conversation and is stamped with the real clock: so are these conversations.
    now = datetime.now(UTC)
    talk(audit, "c-yesterday", borrower_id="B000002", at=now - timedelta(days=1, minutes=5))
    talk(audit, "c-today", borrower_id="B000002", at=now - timedelta(minutes=3))
    talk(audit, "c-other-borrower", borrower_id="B000003", at=now - timedelta(minutes=2))
    ledger.set_do_not_contact("B000002", "requested_in_conversation", "chat:borrower")
    ledger.set_do_not_contact("B000003", "lender_instruction", "csv_import")  # not the borrower's words
    review = book(session_factory, ledger)
    review.fill_queue(now - timedelta(days=2), now + timedelta(minutes=1), now + timedelta(hours=1))
    assert chosen(review) == {"c-today": ["complaint"]}


def test_a_conversation_meeting_several_rules_is_one_item_and_filling_again_adds_nothing(session_factory, ledger, audit):
    talk(audit, "c-many", blocked_rules=["insult"])
    ledger.record_handoff("c-many", "B000001", "distress", 0)
    ledger.record_handoff("c-many", "B000001", "dispute", 1)
    ledger.record_claim("B000001", None, "c-many", "dispute")
    review = book(session_factory, ledger)
    window = (DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    assert review.fill_queue(*window) == 1
    assert review.fill_queue(*window) == 0
    [item] = review.items(None)
    assert [r.rule for r in item.reasons] == ["compliance_block", "distress", "dispute"]
    assert item.reasons[2].detail == "handed to a person; dispute claim recorded"


def test_a_conversation_is_chosen_only_once_it_has_been_quiet(session_factory, ledger, audit):
    talk(audit, "c-live", blocked_rules=["insult"])
    review = book(session_factory, ledger)
    window = (DAY - timedelta(hours=1), DAY + timedelta(hours=1))
    assert review.fill_queue(*window, DAY + timedelta(minutes=10)) == 0
    assert review.fill_queue(*window, DAY + timedelta(minutes=31)) == 1


def test_lockout_is_judged_as_it_stood_then_not_undone_by_a_later_pass(session_factory, ledger, audit):
    talk(audit, "c-locked-then")
    for minute in range(5):
        ledger.check_identity("B000003", "c-locked-then", "chat", id_last4="0000", at=DAY + timedelta(minutes=minute))
    ledger.unlock_verification("B000003", "supervisor1", at=DAY + timedelta(hours=2))
    review = book(session_factory, ledger)
    review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    assert chosen(review) == {"c-locked-then": ["verification_lockout"]}


def test_the_sample_is_drawn_per_agent_and_per_script_from_the_seed_and_recorded(session_factory, ledger, audit):
    for conversation_id in ("c-li", "c-wang", "c-call"):
        talk(audit, conversation_id)
    for conversation_id, agent in (("c-li", "li.na"), ("c-wang", "wang.fang")):
        ledger.record_handoff(conversation_id, "B000001", "requested", 2)
        ledger.set_handoff_status(conversation_id, "taken", ("waiting",), taken_by=agent)
    with session_factory.begin() as session:  # a campaign call: its attempt id is the conversation id
        session.add(CampaignContact(attempt_id="c-call", borrower_id="B000001", account_id="A000001-1",
                                    campaign="early", segment="early", contact_key="early:2026-11-23",
                                    channel="call", script="legal_stage", status="answered",
                                    planned_at=DAY, updated_at=DAY))
    sampling = SamplingPolicy(seed="s1", default_rate=0.0, agent_rates={"li.na": 1.0},
                              script_rates={"legal_stage": 1.0}, quiet_minutes=30)
    review = book(session_factory, ledger, sampling)
    assert review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER) == 2
    items = {item.conversation_id: item for item in review.items(None)}
    assert set(items) == {"c-li", "c-call"}
    assert [r.rule for r in items["c-li"].reasons] == ["sample_agent"]
    assert (items["c-li"].agent, items["c-li"].sample_rate, items["c-li"].sample_seed) == ("li.na", 1.0, "s1")
    assert [r.rule for r in items["c-call"].reasons] == ["sample_script"]
    assert (items["c-call"].script, items["c-call"].agent) == ("legal_stage", "bot")


def test_the_draw_is_uniform_repeatable_and_changes_with_the_seed():
    ids = [f"conv-{n}" for n in range(4000)]
    picked = {cid for cid in ids if draw("2026-12", "agent", "bot", cid) < 0.05}
    assert 150 <= len(picked) <= 250  # 5 % of 4000 is 200; this band is over 5 standard deviations wide
    assert picked == {cid for cid in ids if draw("2026-12", "agent", "bot", cid) < 0.05}
    other = {cid for cid in ids if draw("2027-01", "agent", "bot", cid) < 0.05}
    assert len(picked & other) < 40  # independent draws share about 10


def test_one_review_per_item_a_second_reviewer_is_refused(session_factory, ledger, audit):
    talk(audit, "c-1", blocked_rules=["insult"])
    review = book(session_factory, ledger)
    review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    [item] = review.items("pending")
    saved = review.save_review(item.item_id, "reviewer1", {**ALL_PASS, "no_pressure": "fail"}, "威胁上门", LATER)
    assert saved.marks["no_pressure"] == "fail"
    with pytest.raises(AlreadyReviewed) as refused:
        review.save_review(item.item_id, "reviewer2", ALL_PASS, "", LATER)
    assert refused.value.reviewer == "reviewer1"
    assert review.items("pending") == []
    [done] = review.items("reviewed")
    assert (done.review.reviewer, done.review.notes, done.review.marks["no_pressure"]) == ("reviewer1", "威胁上门", "fail")


def test_bad_scores_are_refused_and_nothing_is_saved(session_factory, ledger, audit):
    talk(audit, "c-1", blocked_rules=["insult"])
    ledger.record_handoff("c-1", "B000001", "requested", 2)
    ledger.set_handoff_status("c-1", "taken", ("waiting",), taken_by="li.na")
    review = book(session_factory, ledger)
    review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    [item] = review.items()
    for marks, notes, code in (({**ALL_PASS, "ai_disclosed": "maybe"}, "", "bad_marks"),
                               ({k: v for k, v in ALL_PASS.items() if k != "ai_disclosed"}, "", "bad_marks"),
                               (ALL_PASS, "x" * 4001, "notes_too_long")):
        with pytest.raises(InvalidReview) as refused:
            review.save_review(item.item_id, "reviewer1", marks, notes, LATER)
        assert refused.value.code == code
    with pytest.raises(InvalidReview) as own:
        review.save_review(item.item_id, "li.na", ALL_PASS, "", LATER)
    assert own.value.code == "own_conversation"
    with pytest.raises(NotFound):
        review.save_review(item.item_id + 100, "reviewer1", ALL_PASS, "", LATER)
    assert review.item(item.item_id).review is None


def test_every_view_is_logged_and_the_transcript_keeps_what_was_blocked(session_factory, ledger, audit):
    talk(audit, "c-1", blocked_rules=["insult"])
    review = book(session_factory, ledger)
    review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    [item] = review.items()
    review.log_view(item.item_id, "reviewer1", LATER)
    review.log_view(item.item_id, "supervisor1", LATER + timedelta(minutes=1))
    assert review.views_of(item.item_id) == [("reviewer1", LATER), ("supervisor1", LATER + timedelta(minutes=1))]
    with pytest.raises(NotFound):
        review.log_view(item.item_id + 100, "reviewer1", LATER)
    lines = review.transcript("c-1")
    assert [(line["speaker"], line["allowed"], line["rules"]) for line in lines] == [
        ("borrower", None, []), ("bot", False, ["insult"]), ("bot", True, [])]


def test_results_per_day_agent_and_script(session_factory, ledger, audit):
    next_day = DAY + timedelta(days=1)
    for conversation_id, at in (("c-a", DAY), ("c-b", DAY + timedelta(minutes=5)), ("c-c", next_day)):
        talk(audit, conversation_id, at=at, blocked_rules=["insult"])
    review = book(session_factory, ledger)
    review.fill_queue(DAY - timedelta(hours=1), next_day + timedelta(hours=1), next_day + timedelta(hours=6))
    ids = {item.conversation_id: item.item_id for item in review.items(None)}
    review.save_review(ids["c-a"], "reviewer1", {**ALL_PASS, "no_pressure": "fail"}, "", LATER)
    review.save_review(ids["c-b"], "reviewer1", ALL_PASS, "", LATER)
    first, second = review.results(DAY.date(), next_day.date())
    assert (first.day, first.agent, first.script, first.chosen, first.reviewed, first.failed) == (
        DAY.date(), "bot", "inbound", 2, 2, 1)
    assert first.marks["no_pressure"] == {"pass": 1, "fail": 1, "na": 0}
    assert first.marks["correct_figures"] == {"pass": 0, "fail": 0, "na": 2}
    assert (second.day, second.chosen, second.reviewed, second.failed) == (next_day.date(), 1, 0, 0)
    assert review.results(date(2026, 1, 1), date(2026, 1, 2)) == []


def test_the_action_answering_a_complaint_records_it(session_factory, ledger, monkeypatch):
    # Imported here, as in test_disclosure_guard: importing actions builds the action server's services.
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    import actions.conversation_context as context
    from actions.contact import ActionAskStopConfirmation

    monkeypatch.setattr(context, "SERVICES", dataclasses.replace(context.SERVICES, ledger=ledger))
    tracker = Tracker("c-action", {"session_started_metadata": {"borrower_id": "B000001", "channel": "phone"}},
                      {"text": "你们烦不烦啊，天天打", "metadata": {"now": DAY.isoformat()}}, [], False, None, {}, None)
    dispatcher = CollectingDispatcher()
    ActionAskStopConfirmation().run(dispatcher, tracker, {})
    assert dispatcher.messages  # the question is still asked
    review = book(session_factory, ledger)
    AuditTrail(session_factory, b"k" * 32).append("c-action", "B000001", "phone", "borrower", "你们烦不烦啊", at=DAY)
    review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    assert [(item.conversation_id, item.reasons[0].detail) for item in review.items(None)] == [
        ("c-action", "complained about being contacted: 你们烦不烦啊，天天打")]


def test_two_reviewers_saving_at_once_one_wins_and_the_other_is_told(session_factory, ledger, audit):
    talk(audit, "c-race", blocked_rules=["insult"])
    review = book(session_factory, ledger)
    review.fill_queue(DAY - timedelta(hours=1), DAY + timedelta(hours=1), LATER)
    [item] = review.items()
    start, outcomes = threading.Barrier(2), {}

    def save(reviewer: str) -> None:
        start.wait()
        try:
            outcomes[reviewer] = review.save_review(item.item_id, reviewer, ALL_PASS, reviewer, LATER).reviewer
        except AlreadyReviewed as refused:
            outcomes[reviewer] = f"refused: {refused.reviewer}"

    threads = [threading.Thread(target=save, args=(name,)) for name in ("reviewer1", "reviewer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = review.item(item.item_id).review.reviewer
    loser = ({"reviewer1", "reviewer2"} - {winner}).pop()
    assert outcomes == {winner: winner, loser: f"refused: {winner}"}
