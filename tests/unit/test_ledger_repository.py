"""The ledger repository against SQLite always, and PostgreSQL when one answers."""

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import PolicyViolation
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.unit.ledger_databases import session_factory  # noqa: F401 - a fixture: each test on SQLite and PostgreSQL

TODAY = date(2025, 3, 10)


@pytest.fixture
def ledger(session_factory):
    seed_demo_portfolio(session_factory, count=40, as_of=TODAY)
    return Ledger(session_factory)


def test_seeded_demo_borrower_is_found_with_masked_id(ledger):
    borrower = ledger.get_borrower("B000001")
    assert (borrower.full_name, borrower.honorific, borrower.id_last4) == ("张伟", "先生", "3821")
    assert borrower.date_of_birth == date(1988, 4, 12)
    assert not borrower.collection_paused and not borrower.do_not_contact
    assert ledger.get_borrower("B999999") is None


def test_english_demo_borrower_keeps_language_and_timezone(ledger):
    borrower = ledger.get_borrower("B000004")
    assert (borrower.language, borrower.timezone) == ("en", "America/New_York")


def test_primary_account_shows_the_balance_in_cents(ledger):
    account = ledger.get_primary_account("B000001")
    assert account.balance_cents == 1_234_567
    assert account.balance_cents == account.principal_cents + account.interest_cents + account.fees_cents
    assert (account.lender_name, account.risk_tier, account.days_past_due) == ("安信消费金融", "A", 15)
    assert account.due_date == TODAY - timedelta(days=15)


def test_seeding_twice_adds_nothing(ledger, session_factory):
    report = seed_demo_portfolio(session_factory, count=40, as_of=TODAY)
    assert (report.borrowers_created, report.accounts_created) == (0, 0)


def test_identity_verified_with_right_last4_or_birth_date(ledger):
    assert ledger.check_identity("B000001", "conv-1", "chat", id_last4="3821").passed
    assert ledger.check_identity("B000001", "conv-1", "chat", date_of_birth=date(1988, 4, 12)).passed
    assert ledger.check_identity("B000003", "conv-2", "chat", id_last4="662x").passed  # check character X, any case


def test_identity_refused_with_wrong_or_missing_answers(ledger):
    from ledger.errors import NotFound

    assert ledger.check_identity("B000001", "conv-1", "chat", id_last4="3812").result == "failed"
    assert ledger.check_identity("B000001", "conv-1", "chat", date_of_birth=date(1988, 4, 13)).result == "failed"
    with pytest.raises(ValueError):
        ledger.check_identity("B000001", "conv-1", "chat")
    with pytest.raises(ValueError):
        ledger.check_identity("B000001", "conv-1", "chat", id_last4="3821", date_of_birth=date(1988, 4, 12))
    with pytest.raises(NotFound):
        ledger.check_identity("B999999", "conv-1", "chat", id_last4="3821")


def _fail(ledger, conversation_id, channel="chat", at=None):
    return ledger.check_identity("B000001", conversation_id, channel, id_last4="0000", at=at)


def test_failures_lock_the_borrower_across_conversations_and_channels(ledger):
    limit = ledger.policy.verification.max_failures
    for number in range(limit - 1):
        assert _fail(ledger, f"conv-{number}", ("chat", "phone", "wechat")[number % 3]).locked_until is None
    locking = _fail(ledger, "conv-last", "phone")
    assert locking.result == "failed" and locking.locked_until is not None

    # Locked: not even the right answer is compared, so a guesser learns nothing from the reply.
    locked = ledger.check_identity("B000001", "conv-new", "chat", id_last4="3821")
    assert locked.result == "locked_out" and not locked.passed
    assert ledger.verified_check("conv-new", "B000001") is None
    results = [check.result for check in ledger.identity_checks_for("B000001")]
    assert results == ["failed"] * limit + ["locked_out"]
    assert ledger.check_identity("B000002", "conv-other", "chat", id_last4="0000").locked_until is None


def test_a_person_unlocks_and_the_count_starts_again(ledger):
    for number in range(ledger.policy.verification.max_failures):
        _fail(ledger, f"conv-{number}")
    assert ledger.verification_locked_until("B000001") is not None
    ledger.unlock_verification("B000001", "supervisor-7")
    assert ledger.verification_locked_until("B000001") is None
    assert _fail(ledger, "conv-after").locked_until is None
    assert ledger.check_identity("B000001", "conv-after", "chat", id_last4="3821").passed


def test_the_lockout_ends_when_its_window_has_passed(ledger):
    rules = ledger.policy.verification
    first = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    for number in range(rules.max_failures):
        last = _fail(ledger, f"conv-{number}", at=first + timedelta(seconds=number))
    assert last.locked_until == first + timedelta(seconds=rules.max_failures - 1) + rules.lockout
    assert ledger.verification_locked_until("B000001", at=last.locked_until - timedelta(seconds=1)) is not None
    assert ledger.verification_locked_until("B000001", at=last.locked_until) is None
    assert ledger.check_identity("B000001", "conv-later", "chat", id_last4="3821", at=last.locked_until).passed


def test_verification_is_recorded_for_one_conversation_and_borrower(ledger):
    before = datetime.now(UTC)
    ledger.check_identity("B000001", "conv-1", "phone", date_of_birth=date(1988, 4, 12))
    check = ledger.verified_check("conv-1", "B000001")
    assert (check.channel, check.method, check.result) == ("phone", "date_of_birth", "passed")
    assert check.checked_at >= before
    assert ledger.verified_check("conv-2", "B000001") is None
    assert ledger.verified_check("conv-1", "B000002") is None


def test_parallel_guesses_cannot_pass_the_limit(ledger):
    limit = ledger.policy.verification.max_failures
    guesses = limit + 4
    start = threading.Barrier(guesses)
    results, failures = [], []

    def guess(number: int) -> None:
        start.wait()
        try:
            results.append(_fail(ledger, f"conv-{number}").result)
        except Exception as exc:  # surfaced below; a thread must not swallow it silently
            failures.append(exc)

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(results) == ["failed"] * limit + ["locked_out"] * (guesses - limit)


def test_same_promise_twice_is_stored_once(ledger):
    account = ledger.get_primary_account("B000001")
    first = ledger.record_promise(account.account_id, "conv-1", 300_000, TODAY + timedelta(days=5), TODAY)
    again = ledger.record_promise(account.account_id, "conv-1", 300_000, TODAY + timedelta(days=5), TODAY)
    assert first == again
    assert len(ledger.promises_for(account.account_id)) == 1
    assert first.created_at.tzinfo is not None


@pytest.mark.parametrize(
    "amount, days_ahead, code",
    [
        (1_234_568, 5, "amount_exceeds_balance"),
        (100_000, 31, "date_outside_window"),  # tier A horizon is 30 days
        (100_000, -1, "date_outside_window"),
        (0, 5, "amount_not_positive"),
        (-500, 5, "amount_not_positive"),
    ],
)
def test_promise_outside_policy_is_refused_and_not_stored(ledger, amount, days_ahead, code):
    account = ledger.get_primary_account("B000001")
    with pytest.raises(PolicyViolation) as refused:
        ledger.record_promise(account.account_id, "conv-1", amount, TODAY + timedelta(days=days_ahead), TODAY)
    assert refused.value.code == code
    assert ledger.promises_for(account.account_id) == ()


def test_promise_on_the_last_day_of_the_horizon_is_accepted(ledger):
    account = ledger.get_primary_account("B000002")  # tier B: 14 days
    ledger.record_promise(account.account_id, "conv-2", account.balance_cents, TODAY + timedelta(days=14), TODAY)
    assert len(ledger.promises_for(account.account_id)) == 1


def test_proposed_plan_sums_to_balance_plus_fee(ledger):
    account = ledger.get_primary_account("B000001")
    plan = ledger.propose_plan(account.account_id, "conv-1", 6, TODAY + timedelta(days=7))
    assert plan.fee_cents == 37_037  # 1,234,567 x 0.5 % x 6 = 37,037.01
    assert plan.total_cents == account.balance_cents + plan.fee_cents
    assert sum(amount for _, amount in plan.items) == plan.total_cents
    assert [due for due, _ in plan.items][0] == TODAY + timedelta(days=7)
    assert plan.status == "proposed"


def test_hardship_plan_has_no_fee(ledger):
    account = ledger.get_primary_account("B000001")
    plan = ledger.propose_plan(account.account_id, "conv-1", 12, TODAY + timedelta(days=7), hardship=True)
    assert plan.fee_cents == 0 and plan.total_cents == account.balance_cents


def test_plan_length_outside_tier_is_refused(ledger):
    account = ledger.get_primary_account("B000003")  # tier C: 2 or 3
    with pytest.raises(PolicyViolation) as refused:
        ledger.propose_plan(account.account_id, "conv-3", 6, TODAY + timedelta(days=7))
    assert refused.value.code == "periods_not_allowed"
    assert ledger.plans_for(account.account_id) == ()


def test_accepting_a_plan_cancels_the_other_proposals(ledger):
    account = ledger.get_primary_account("B000001")
    three = ledger.propose_plan(account.account_id, "conv-1", 3, TODAY + timedelta(days=7))
    six = ledger.propose_plan(account.account_id, "conv-1", 6, TODAY + timedelta(days=7))
    assert ledger.propose_plan(account.account_id, "conv-1", 3, TODAY + timedelta(days=7)) == three
    assert ledger.accept_plan(six.plan_id).status == "accepted"
    statuses = {plan.plan_id: plan.status for plan in ledger.plans_for(account.account_id)}
    assert statuses == {three.plan_id: "cancelled", six.plan_id: "accepted"}


def test_a_change_of_mind_in_the_same_conversation_replaces_the_accepted_plan(ledger):
    account = ledger.get_primary_account("B000001")
    earlier = ledger.propose_plan(account.account_id, "conv-1", 3, TODAY + timedelta(days=7))
    ledger.accept_plan(earlier.plan_id)
    other_conversation = ledger.propose_plan(account.account_id, "conv-2", 2, TODAY + timedelta(days=7))
    ledger.accept_plan(other_conversation.plan_id)
    later = ledger.propose_plan(account.account_id, "conv-1", 6, TODAY + timedelta(days=7))
    ledger.accept_plan(later.plan_id)
    statuses = {plan.plan_id: plan.status for plan in ledger.plans_for(account.account_id)}
    # Another conversation's agreement stands until a person changes it.
    assert statuses == {earlier.plan_id: "cancelled", other_conversation.plan_id: "accepted", later.plan_id: "accepted"}


def test_dispute_pauses_collection_and_is_recorded_once(ledger):
    account = ledger.get_primary_account("B000002")
    claim = ledger.record_claim("B000002", account.account_id, "conv-2", "dispute", detail="金额不对")
    assert ledger.record_claim("B000002", account.account_id, "conv-2", "dispute", detail="金额不对") == claim
    assert len(ledger.claims_for("B000002")) == 1
    assert ledger.get_borrower("B000002").collection_paused
    assert ledger.get_primary_account("B000002") is None  # no collecting account left
    with pytest.raises(PolicyViolation) as refused:
        ledger.record_promise(account.account_id, "conv-2", 10_000, TODAY, TODAY)
    assert refused.value.code == "account_not_collecting"


def test_paid_claims_with_different_amounts_are_separate(ledger):
    ledger.record_claim("B000001", None, "conv-1", "paid", amount_cents=50_000, claimed_date=TODAY)
    ledger.record_claim("B000001", None, "conv-1", "paid", amount_cents=60_000, claimed_date=TODAY)
    ledger.record_claim("B000001", None, "conv-1", "paid", amount_cents=60_000, claimed_date=TODAY)
    assert [claim.amount_cents for claim in ledger.claims_for("B000001")] == [50_000, 60_000]


def test_fee_waiver_decision_is_recorded_as_a_claim(ledger):
    account = ledger.get_primary_account("B000001")
    decision = ledger.decide_fee_waiver(account.account_id, "conv-1", hardship=True)
    assert (decision.granted, decision.waived_cents) == (True, account.fees_cents)
    ledger.decide_fee_waiver(account.account_id, "conv-1", hardship=True)
    [claim] = ledger.claims_for("B000001")
    assert (claim.kind, claim.decision, claim.amount_cents) == ("fee_waiver", "granted:hardship_full", 45_500)


def test_extension_decision_is_recorded_as_a_claim(ledger):
    account = ledger.get_primary_account("B000002")  # tier B: up to 7 days
    too_long = ledger.decide_extension(account.account_id, "conv-2", 10, TODAY)
    granted = ledger.decide_extension(account.account_id, "conv-2", 7, TODAY)
    assert not too_long.granted and granted.new_due_date == TODAY + timedelta(days=7)
    claims = ledger.claims_for("B000002")
    assert [(c.kind, c.decision) for c in claims] == [
        ("extension", "declined:exceeds_tier_maximum"), ("extension", "granted:granted")]
    assert claims[1].claimed_date == TODAY + timedelta(days=7)


def test_do_not_contact_is_remembered(ledger):
    assert not ledger.is_do_not_contact("B000003")
    ledger.set_do_not_contact("B000003", "borrower asked to stop", "chat")
    ledger.set_do_not_contact("B000003", "again", "phone")
    assert ledger.is_do_not_contact("B000003")
    assert ledger.get_borrower("B000003").do_not_contact


def test_handoff_is_requested_once_and_distress_raises_priority(ledger):
    first = ledger.record_handoff("conv-9", "B000001", "asked_for_human", 5)
    assert ledger.record_handoff("conv-9", "B000001", "asked_for_human", 5) == first
    ledger.record_handoff("conv-9", "B000001", "distress", 0)
    handoffs = ledger.handoffs_for("conv-9")
    assert [(h.reason, h.priority, h.status) for h in handoffs] == [
        ("asked_for_human", 5, "waiting"), ("distress", 0, "waiting")]


def test_a_handoff_keeps_the_time_it_was_asked_for(ledger):
    asked = datetime(2026, 12, 3, 10, 15, tzinfo=ZoneInfo("Asia/Shanghai"))  # a simulated month's clock
    assert ledger.record_handoff("conv-10", "B000001", "requested", 2, at=asked).created_at == asked
    assert ledger.record_handoff("conv-10", "B000001", "requested", 2).created_at == asked  # the same request


def test_callback_is_stored_in_utc(ledger):
    local = datetime(2025, 3, 11, 19, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    ledger.record_callback("B000001", "conv-1", local)
    [callback] = ledger.callbacks_for("B000001")
    assert callback.callback_at == local
    assert callback.callback_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        ledger.record_callback("B000001", "conv-1", datetime(2025, 3, 11, 19, 30))


def test_contact_attempts_are_listed(ledger):
    ledger.record_contact_attempt("B000001", "phone", "conv-1", "refused", reason="quiet_hours")
    ledger.record_contact_attempt("B000001", "wechat", "conv-2", "answered")
    attempts = ledger.contact_attempts_for("B000001")
    assert [(a.channel, a.outcome, a.reason) for a in attempts] == [
        ("phone", "refused", "quiet_hours"), ("wechat", "answered", "")]


def test_conversation_start_is_idempotent_and_finish_records_outcome(ledger):
    started = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    ledger.start_conversation("conv-1", None, "webchat", started)
    ledger.start_conversation("conv-1", "B000001", "webchat", started + timedelta(minutes=1))
    finished = ledger.finish_conversation("conv-1", "promise", "承诺3月15日还款", identity_verified=True)
    assert finished.borrower_id == "B000001"
    assert finished.started_at == started
    assert finished.identity_verified and finished.outcome == "promise"
    assert finished.ended_at.tzinfo is not None


# PostgreSQL only (not a skip on SQLite: SQLite serialises writers, so the race does not exist there).
@pytest.mark.parametrize("session_factory", ["postgresql"], indirect=True)
def test_concurrent_retries_of_one_promise_store_one_row(ledger):
    account = ledger.get_primary_account("B000001")
    start = threading.Barrier(4)
    results, failures = [], []

    def promise():
        start.wait()
        try:
            results.append(ledger.record_promise(account.account_id, "conv-race", 100_000, TODAY, TODAY))
        except Exception as exc:  # surfaced below; a thread must not swallow it silently
            failures.append(exc)

    threads = [threading.Thread(target=promise) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len({result.promise_id for result in results}) == 1
    assert len(ledger.promises_for(account.account_id)) == 1


def test_finishing_an_unstarted_conversation_still_records_the_outcome(ledger):
    finished = ledger.finish_conversation("conv-lost", "verification_failed", "", identity_verified=False)
    assert finished.outcome == "verification_failed" and finished.started_at == finished.ended_at


def test_contact_attempt_for_unknown_borrower_is_not_found(ledger):
    from ledger.errors import NotFound

    with pytest.raises(NotFound):
        ledger.record_contact_attempt("B999999", "phone", "conv-1", "answered")


# --- requests from unverified parties (issue 10 finding 7) -------------------------------------------------------

def test_an_unverified_request_changes_nothing_until_a_person_applies_it(ledger):
    account = ledger.get_primary_account("B000002")
    dispute = ledger.record_review_request("conv-r1", "B000002", "phone", "dispute", said="这钱不是我借的")
    stop = ledger.record_review_request("conv-r1", "B000002", "phone", "do_not_contact", said="别再打了")
    distress = ledger.record_review_request("conv-r1", "B000002", "phone", "distress", said="我不想活了")
    borrower = ledger.get_borrower("B000002")
    assert not borrower.do_not_contact and not borrower.collection_paused
    assert ledger.active_flags("B000002") == () and ledger.claims_for("B000002") == ()
    assert ledger.get_account(account.account_id).status == "collecting"
    assert [(r.kind, r.status, r.borrower_id) for r in ledger.review_requests(conversation_id="conv-r1")] == [
        ("dispute", "pending", "B000002"), ("do_not_contact", "pending", "B000002"), ("distress", "pending", "B000002")]

    for request in (dispute, stop, distress):
        applied = ledger.apply_review_request(request.request_id, "supervisor-1")
        assert (applied.status, applied.reviewed_by) == ("applied", "supervisor-1") and applied.reviewed_at
    borrower = ledger.get_borrower("B000002")
    assert borrower.do_not_contact and borrower.collection_paused
    assert ledger.active_flags("B000002") == ("distress",)
    assert [(c.kind, c.conversation_id, c.detail) for c in ledger.claims_for("B000002")] == [
        ("dispute", "conv-r1", "这钱不是我借的")]
    assert ledger.get_account(account.account_id).status == "paused"
    assert ledger.review_requests() == ()
    with pytest.raises(PolicyViolation, match="review_request_closed"):
        ledger.apply_review_request(dispute.request_id, "supervisor-2")


def test_an_applied_wrong_number_request_flags_the_number_on_file_until_a_person_clears_it(ledger):
    request = ledger.record_review_request("conv-w1", "B000005", "phone", "wrong_number", said="你打错了，我不认识他")
    assert (request.kind, request.status, request.borrower_id) == ("wrong_number", "pending", "B000005")
    assert ledger.active_flags("B000005") == ()
    applied = ledger.apply_review_request(request.request_id, "supervisor-1")
    assert applied.status == "applied"
    assert ledger.active_flags("B000005") == ("wrong_number",)
    borrower = ledger.get_borrower("B000005")
    # Only the number is in doubt: the account, and the borrower's own wishes, are left as they were.
    assert not borrower.do_not_contact and not borrower.collection_paused and ledger.claims_for("B000005") == ()
    (flag,) = ledger.flags_for("B000005")
    assert "reached someone else" in flag.reason and "supervisor-1" in flag.reason
    assert ledger.clear_flag("B000005", "wrong_number", "supervisor-1")  # once the lender corrected the number


def test_a_dismissed_request_leaves_the_account_alone(ledger):
    request = ledger.record_review_request("conv-r2", "B000003", "webchat", "do_not_contact")
    assert ledger.dismiss_review_request(request.request_id, "agent-7").status == "dismissed"
    assert not ledger.get_borrower("B000003").do_not_contact
    with pytest.raises(PolicyViolation, match="review_request_closed"):
        ledger.apply_review_request(request.request_id, "agent-7")


def test_a_request_for_an_unknown_id_names_no_borrower_and_cannot_be_applied(ledger):
    request = ledger.record_review_request("conv-r3", "B999999", "rest", "distress", said="我不想活了")
    assert request.borrower_id is None and ledger.get_review_request(request.request_id) == request
    with pytest.raises(PolicyViolation, match="no_known_borrower"):
        ledger.apply_review_request(request.request_id, "supervisor-1")
    assert ledger.dismiss_review_request(request.request_id, "supervisor-1").status == "dismissed"


def test_the_same_request_twice_in_a_conversation_is_one_keeping_the_first_words(ledger):
    first = ledger.record_review_request("conv-r4", "B000004", "phone", "distress", said="不想活了")
    again = ledger.record_review_request("conv-r4", "B000004", "phone", "distress", said="")
    assert again == first and len(ledger.review_requests(conversation_id="conv-r4")) == 1
    with pytest.raises(ValueError):
        ledger.record_review_request("conv-r4", "B000004", "phone", "promise")


def test_an_sms_opt_out_is_kept_once_per_number_and_start_clears_it_leaving_the_history(ledger, session_factory):
    from sqlalchemy import select

    from ledger.models import SmsOptOut

    number = "+8613800015210"
    assert ledger.record_sms_opt_out(number, "sms_keyword", "STOP")
    assert not ledger.record_sms_opt_out(number, "carrier_opt_out")  # already on record: the first is kept
    assert ledger.sms_opted_out(number) and not ledger.sms_opted_out("+8613900027781")
    assert ledger.clear_sms_opt_out(number, "START") and not ledger.clear_sms_opt_out(number, "START")
    assert not ledger.sms_opted_out(number)
    assert ledger.record_sms_opt_out(number, "carrier_opt_out")  # opted out again later: a new row
    with session_factory() as session:
        rows = [(r.source, r.keyword, r.cleared_keyword, r.cleared_at is None)
                for r in session.scalars(select(SmsOptOut).order_by(SmsOptOut.id))]
    assert rows == [("sms_keyword", "STOP", "START", False), ("carrier_opt_out", "", None, True)]
    with pytest.raises(ValueError):
        ledger.record_sms_opt_out(number, "a rumour")
