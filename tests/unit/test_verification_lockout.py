"""When repeated failed identity checks lock a borrower (ledger.lockout), and what starts the count again."""
from datetime import UTC, datetime, timedelta

from ledger.lockout import CheckEvent, VerificationPolicy, locked_until

POLICY = VerificationPolicy(max_failures=3, failure_window_minutes=60, lockout_minutes=30)
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def minutes(count: float) -> datetime:
    return START + timedelta(minutes=count)


def failures(*at_minutes: float) -> list[CheckEvent]:
    return [CheckEvent(minutes(at), "failed") for at in at_minutes]


def test_fewer_failures_than_the_limit_do_not_lock():
    assert locked_until(failures(0, 1), POLICY, now=minutes(2)) is None


def test_the_limit_within_the_window_locks_until_the_lockout_has_passed():
    events = failures(0, 10, 20)
    assert locked_until(events, POLICY, now=minutes(20)) == minutes(50)
    assert locked_until(events, POLICY, now=minutes(49.9)) == minutes(50)
    assert locked_until(events, POLICY, now=minutes(50)) is None


def test_failures_spread_wider_than_the_window_do_not_lock():
    assert locked_until(failures(0, 40, 61), POLICY, now=minutes(61)) is None


def test_a_passed_check_starts_the_count_again():
    events = failures(0, 1) + [CheckEvent(minutes(2), "passed")] + failures(3, 4)
    assert locked_until(events, POLICY, now=minutes(5)) is None


def test_a_persons_unlock_ends_the_lockout_at_once():
    locked = failures(0, 1, 2)
    assert locked_until(locked, POLICY, now=minutes(4)) == minutes(32)
    assert locked_until(locked + [CheckEvent(minutes(5), "unlocked")], POLICY, now=minutes(5)) is None


def test_after_a_lockout_expires_the_count_starts_from_nothing():
    events = failures(0, 1, 2) + failures(40)  # 40: after the lockout (2 + 30), within the 60-minute window
    assert locked_until(events, POLICY, now=minutes(41)) is None
    assert locked_until(events + failures(41, 42), POLICY, now=minutes(42)) == minutes(72)
