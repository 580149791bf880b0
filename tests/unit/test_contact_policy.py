"""Contact policy against a real Redis (tests/stack.py's unit_redis_url: the session's own server, or the
database COLLECTIONS_TEST_REDIS_URL sets aside for tests) and a SQLite ledger. Only the policy's own `cp:*`
keys are cleared around each test: the database is never flushed."""
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import text

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from compliance_filters.contact_policy import ContactPolicy, ContactPolicyConfig, load_config
from configuration.files import validate_model

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
PHONE = "13800001234"


def _clear_contact_policy_keys(client: redis.Redis) -> None:
    for key in client.scan_iter("cp:*", count=500):
        client.delete(key)


@pytest.fixture
def redis_client(unit_redis_url):
    client = redis.Redis.from_url(unit_redis_url)
    _clear_contact_policy_keys(client)
    yield client
    _clear_contact_policy_keys(client)
    client.close()


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    sessions = make_session_factory(engine)
    seed_demo_portfolio(sessions, count=5, as_of=date(2025, 3, 10))
    yield sessions
    engine.dispose()


@pytest.fixture
def ledger(factory):
    return Ledger(factory)


@pytest.fixture
def policy(redis_client, ledger):
    return ContactPolicy(redis_client, ledger, load_config())


def _set(factory, sql, **params):
    with factory.begin() as session:
        session.execute(text(sql), params)


def _account(ledger, borrower_id="B000001"):
    return ledger.get_primary_account(borrower_id).account_id


def _us_borrower(factory, borrower_id="B000002"):
    _set(factory, "UPDATE borrowers SET timezone = 'America/New_York' WHERE borrower_id = :b", b=borrower_id)
    return borrower_id


# --- window -------------------------------------------------------------------------------

def test_daytime_shanghai_call_is_allowed_and_recorded(policy, ledger):
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    assert decision.allowed and decision.reason == "ok" and decision.profile == "china"
    attempts = ledger.contact_attempts_for("B000001")
    assert attempts[-1].outcome == "allowed_by_policy"


def test_quarter_past_nine_at_night_is_outside_the_stricter_window(policy, ledger):
    now = datetime(2025, 3, 10, 21, 15, tzinfo=SHANGHAI)
    decision = policy.may_contact("B000001", "voice", now)
    assert not decision.allowed and decision.reason == "outside_contact_window"
    assert decision.next_allowed_at == datetime(2025, 3, 11, 8, 0, tzinfo=SHANGHAI)
    assert decision.next_allowed_at.utcoffset() == timedelta(hours=8)
    refused = ledger.contact_attempts_for("B000001")[-1]
    assert refused.outcome == "refused_by_policy" and "outside_contact_window" in refused.reason


def test_early_morning_waits_until_eight_the_same_day(policy):
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 6, 30, tzinfo=SHANGHAI))
    assert decision.next_allowed_at == datetime(2025, 3, 10, 8, 0, tzinfo=SHANGHAI)


def test_window_is_the_borrowers_local_time_not_the_servers(policy):
    # 23:00 UTC is 07:00 next day in Shanghai: still too early there.
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 23, 0, tzinfo=UTC))
    assert decision.reason == "outside_contact_window"
    # 02:00 UTC is 10:00 in Shanghai.
    assert policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 2, 0, tzinfo=UTC)).allowed


def test_naive_now_is_refused(policy):
    with pytest.raises(ValueError, match="timezone-aware"):
        policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 10, 0))


# --- china caps ---------------------------------------------------------------------------

def test_fourth_answered_conversation_of_the_day_is_refused(policy, ledger):
    now = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    for _ in range(3):
        assert policy.record_attempt("B000001", "voice", now, "answered", PHONE).allowed
    decision = policy.record_attempt("B000001", "voice", now, "answered", PHONE)
    assert not decision.allowed and decision.reason == "daily_answered_cap"
    assert decision.next_allowed_at == datetime(2025, 3, 11, 8, 0, tzinfo=SHANGHAI)
    assert policy.may_contact("B000001", "voice", now).reason == "daily_answered_cap"
    # A new local day starts a new count.
    assert policy.may_contact("B000001", "voice", now + timedelta(days=1)).allowed
    outcomes = [a.outcome for a in ledger.contact_attempts_for("B000001")]
    assert outcomes.count("answered") == 3 and outcomes.count("refused_by_policy") >= 2


def test_seventh_unanswered_dial_to_one_number_is_refused_but_another_number_is_not(policy):
    now = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    for _ in range(6):
        assert policy.record_attempt("B000001", "voice", now, "unanswered", PHONE).allowed
    assert policy.record_attempt("B000001", "voice", now, "unanswered", PHONE).reason == "daily_unanswered_cap"
    assert policy.may_contact("B000001", "voice", now, phone=PHONE).reason == "daily_unanswered_cap"
    assert policy.record_attempt("B000001", "voice", now, "unanswered", "13900009999").allowed


def test_phone_numbers_are_not_stored_in_clear_in_redis(policy, redis_client):
    policy.record_attempt("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI), "unanswered", PHONE)
    keys = redis_client.keys("cp:*")
    assert keys and not any(PHONE.encode() in key for key in keys)
    assert all(redis_client.ttl(key) > 0 for key in keys)


def test_wechat_messages_are_not_counted_against_voice_caps(policy):
    now = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    for _ in range(3):
        policy.record_attempt("B000001", "voice", now, "answered", PHONE)
    assert policy.may_contact("B000001", "wechat", now).allowed


def test_twenty_five_racing_replicas_reserve_exactly_the_unanswered_cap(redis_client, factory, unit_redis_url):
    now = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    results, barrier = [], threading.Barrier(25)

    def replica():
        # Each thread is its own gateway replica: own Redis connection, own ledger handle.
        client = redis.Redis.from_url(unit_redis_url)
        own = ContactPolicy(client, Ledger(factory), load_config())
        barrier.wait()
        results.append(own.record_attempt("B000001", "voice", now, "unanswered", PHONE).allowed)
        client.close()

    threads = [threading.Thread(target=replica) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 25 and results.count(True) == 6


def test_thirty_racing_replicas_reserve_exactly_the_us_weekly_cap(redis_client, factory, unit_redis_url):
    borrower = _us_borrower(factory)
    account = Ledger(factory).get_primary_account(borrower).account_id
    now = datetime(2025, 3, 10, 10, 0, tzinfo=NEW_YORK)
    results, barrier = [], threading.Barrier(30)

    def replica():
        client = redis.Redis.from_url(unit_redis_url)
        own = ContactPolicy(client, Ledger(factory), load_config())
        barrier.wait()
        results.append(own.record_attempt(borrower, "voice", now, "unanswered", None, account).allowed)
        client.close()

    threads = [threading.Thread(target=replica) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 7


# --- us caps ------------------------------------------------------------------------------

def test_new_york_borrower_gets_the_us_profile_and_nine_pm_cutoff(policy, factory):
    borrower = _us_borrower(factory)
    late = datetime(2025, 3, 10, 21, 0, tzinfo=NEW_YORK)
    decision = policy.may_contact(borrower, "voice", late)
    assert (decision.allowed, decision.reason, decision.profile) == (False, "outside_contact_window", "us")
    assert decision.next_allowed_at == datetime(2025, 3, 11, 8, 0, tzinfo=NEW_YORK)


def test_eighth_attempt_in_seven_days_is_refused_until_the_oldest_ages_out(policy, factory, ledger):
    borrower = _us_borrower(factory)
    account = _account(ledger, borrower)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=NEW_YORK)
    for day in range(7):
        assert policy.record_attempt(borrower, "voice", start + timedelta(days=day), "unanswered",
                                     account_id=account).allowed
    now = start + timedelta(days=6, hours=2)
    decision = policy.record_attempt(borrower, "voice", now, "unanswered", account_id=account)
    assert not decision.allowed and decision.reason == "rolling_attempt_cap"
    # 7 × 24 h after the first attempt; US clocks sprang forward on 9 March, so 10:00 EDT.
    assert decision.next_allowed_at == datetime(2025, 3, 10, 10, 0, tzinfo=NEW_YORK)
    assert policy.may_contact(borrower, "voice", decision.next_allowed_at, account_id=account).allowed


def test_no_call_within_seven_days_after_a_conversation_about_the_debt(policy, factory, ledger):
    borrower = _us_borrower(factory)
    account = _account(ledger, borrower)
    talked = datetime(2025, 3, 10, 19, 30, tzinfo=NEW_YORK)
    assert policy.record_attempt(borrower, "voice", talked, "answered", account_id=account).allowed
    decision = policy.may_contact(borrower, "voice", talked + timedelta(days=3), account_id=account)
    assert decision.reason == "cooloff_after_conversation"
    # 7 days later is 19:30 — inside the window, so exactly then.
    assert decision.next_allowed_at == datetime(2025, 3, 17, 19, 30, tzinfo=NEW_YORK)
    assert policy.may_contact(borrower, "voice", talked + timedelta(days=7, minutes=1),
                              account_id=account).allowed


def test_massachusetts_cap_of_two_applies_only_when_the_state_is_known(policy, factory, ledger):
    borrower = _us_borrower(factory)
    account = _account(ledger, borrower)
    now = datetime(2025, 3, 10, 10, 0, tzinfo=NEW_YORK)
    for _ in range(2):
        assert policy.record_attempt(borrower, "voice", now, "unanswered", account_id=account, state="MA").allowed
    assert policy.may_contact(borrower, "voice", now, account_id=account, state="MA").reason == "rolling_attempt_cap"
    assert policy.may_contact(borrower, "voice", now, account_id=account).allowed


def test_explicit_profile_overrides_the_time_zone(policy):
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI), profile="us")
    assert decision.profile == "us" and decision.allowed


# --- hard stops ---------------------------------------------------------------------------

def test_do_not_contact_is_a_hard_stop_without_a_next_time(policy, ledger):
    ledger.set_do_not_contact("B000001", "borrower asked", "chat")
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    assert (decision.allowed, decision.reason, decision.next_allowed_at) == (False, "do_not_contact", None)


def test_distress_flag_stops_contact_until_a_human_clears_it(policy, ledger):
    now = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    ledger.flag_borrower("B000001", "distress", "self_harm: 不想活")
    assert policy.may_contact("B000001", "voice", now).reason == "distress_flag"
    assert policy.record_attempt("B000001", "voice", now, "answered", PHONE).reason == "distress_flag"
    ledger.clear_flag("B000001", "distress", "agent-007")
    assert policy.may_contact("B000001", "voice", now).allowed


def test_cease_request_flag_is_a_hard_stop(policy, ledger):
    ledger.flag_borrower("B000001", "cease", "written cease request")
    assert policy.may_contact("B000001", "sms", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)).reason == "cease_flag"


def test_a_confirmed_wrong_number_stops_contact_until_a_person_clears_it(policy, ledger):
    now = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    ledger.flag_borrower("B000001", "wrong_number", "number on file reached someone else")
    assert policy.may_contact("B000001", "voice", now).reason == "wrong_number_flag"
    ledger.clear_flag("B000001", "wrong_number", "supervisor-1")
    assert policy.may_contact("B000001", "voice", now).allowed


def test_dispute_under_review_pauses_contact(policy, ledger):
    account = _account(ledger)
    ledger.record_claim("B000001", account, "conv-1", "dispute", "not my loan")
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    assert decision.reason == "collection_paused"


def test_paused_account_is_refused_even_if_the_borrower_is_not(policy, ledger, factory):
    account = _account(ledger)
    _set(factory, "UPDATE loan_accounts SET status = 'paused' WHERE account_id = :a", a=account)
    decision = policy.may_contact("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI),
                                  account_id=account)
    assert decision.reason == "account_paused"


def test_unknown_borrower_is_refused(policy):
    assert policy.may_contact("B999999", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)).reason == "unknown_borrower"


def test_invalid_outcome_is_an_error(policy):
    with pytest.raises(ValueError, match="outcome"):
        policy.record_attempt("B000001", "voice", datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI), "busy", PHONE)


# --- configuration ------------------------------------------------------------------------

def _raw():
    import yaml
    from compliance_filters.contact_policy import CONFIG_PATH
    return yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


def test_shipped_config_loads_with_the_stricter_china_window():
    config = load_config()
    assert config.default_profile == "china"
    assert [t.strftime("%H:%M") for t in config.profiles["china"].allowed_window] == ["08:00", "21:00"]
    assert config.profiles["us"].state_caps == {"MA": 2, "NY": 2}


def test_window_overlapping_quiet_hours_is_rejected_naming_the_key():
    raw = _raw()
    raw["profiles"]["china"]["allowed_window"] = ["07:00", "21:00"]
    with pytest.raises(ValueError, match=r"profiles\.china"):
        validate_model("contact_policy.yml", raw, ContactPolicyConfig)


def test_bad_time_and_unknown_key_are_rejected_naming_the_key():
    raw = _raw()
    raw["profiles"]["us"]["allowed_window"] = ["8am", "21:00"]
    with pytest.raises(ValueError, match=r"profiles\.us\.allowed_window"):
        validate_model("contact_policy.yml", raw, ContactPolicyConfig)
    raw = _raw()
    raw["profiles"]["china"]["daily_answred_per_debtor"] = 3
    with pytest.raises(ValueError, match="daily_answred_per_debtor"):
        validate_model("contact_policy.yml", raw, ContactPolicyConfig)
    raw = _raw()
    raw["default_profile"] = "mars"
    with pytest.raises(ValueError, match="default_profile"):
        validate_model("contact_policy.yml", raw, ContactPolicyConfig)
