"""Contact policy: may the bot start a contact with this borrower now, and reserve the attempt.

    policy = ContactPolicy(redis.Redis.from_url(url), ledger)           # config: contact_policy.yml
    decision = policy.may_contact("B000001", "voice", now)             # read-only check
    decision = policy.record_attempt("B000001", "voice", now, "unanswered",
                                     phone="13800000000", account_id="A1")  # atomic reservation

Order of checks: unknown borrower → hard stops (do-not-contact, blocking ledger flags such as
distress or cease, collection paused / account paused for a dispute, nothing collecting) →
local contact window → caps. Hard stops have no `next_allowed_at`: a human must lift them.

Caps live in Redis and are checked-and-incremented by one Lua script, so gateway replicas
racing for the last slot can never exceed a cap: `record_attempt` is the reservation and a
refused reservation means the attempt must not go ahead (for an answered call: the bot ends
it without collecting). `may_contact` runs the same script in check-only mode.

Redis keys (phone numbers are hashed, never stored in clear):
  cp:cn:ans:{borrower}:{local date}     INCR counter, TTL 2 days   (china, answered per debtor)
  cp:cn:una:{sha256(phone)[:16]}:{date} INCR counter, TTL 2 days   (china, unanswered per number)
  cp:us:att:{account}                   ZSET of attempt times (ms)  (us, rolling window per debt)
  cp:us:conv:{account}                  last conversation time (ms) (us, cool-off)

Every decision and every attempt is written to the ledger (`Ledger.record_contact_attempt`):
outcome 'allowed_by_policy' / 'refused_by_policy' for checks, the call outcome for reserved
attempts, 'refused_by_policy' with the reason for refused ones.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from configuration.files import load_yaml_model
from ledger.phones import e164

log = logging.getLogger(__name__)

CONFIG_PATH = Path(__file__).with_name("contact_policy.yml")
Outcome = Literal["answered", "unanswered"]
_DAY_TTL_SECONDS = 2 * 24 * 3600
_MS_PER_DAY = 24 * 3600 * 1000
# A callback the borrower did not time: about two hours on, or at 10:00 on another day (both kept
# inside the allowed window).
CALLBACK_DEFAULT_DELAY = timedelta(hours=2)
CALLBACK_PREFERRED_TIME = time(10, 0)


# --- configuration ------------------------------------------------------------------------


def _parse_hhmm(value: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{value!r} is not HH:MM") from exc


def _minute(moment: time) -> int:
    return moment.hour * 60 + moment.minute


class ProfileConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quiet_hours: tuple[time, time]
    allowed_window: tuple[time, time]
    counted_channels: tuple[str, ...] = ("voice",)
    daily_answered_per_debtor: int | None = Field(default=None, ge=0)
    daily_unanswered_per_number: int | None = Field(default=None, ge=0)
    rolling_days: int = Field(default=7, ge=1)
    rolling_attempts_per_debt: int | None = Field(default=None, ge=0)
    cooloff_days_after_conversation: int | None = Field(default=None, ge=0)
    state_caps: dict[str, int] = {}

    @field_validator("quiet_hours", "allowed_window", mode="before")
    @classmethod
    def _times(cls, value: Any) -> tuple[time, time]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError('expected ["HH:MM", "HH:MM"]')
        return tuple(_parse_hhmm(v) if isinstance(v, str) else v for v in value)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _window_inside_statutory_hours(self) -> ProfileConfig:
        start, end = (_minute(t) for t in self.allowed_window)
        if start >= end:
            raise ValueError("allowed_window must start before it ends (same local day)")
        quiet_start, quiet_end = (_minute(t) for t in self.quiet_hours)

        def quiet(minute: int) -> bool:
            if quiet_start <= quiet_end:
                return quiet_start <= minute < quiet_end
            return minute >= quiet_start or minute < quiet_end

        if any(quiet(m) for m in range(start, end)):
            raise ValueError("allowed_window overlaps quiet_hours")
        return self


class ContactPolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_profile: str
    timezone_profiles: dict[str, str] = {}
    blocking_flags: tuple[str, ...] = ("distress", "cease", "wrong_number")
    profiles: dict[str, ProfileConfig]

    @model_validator(mode="after")
    def _profiles_exist(self) -> ContactPolicyConfig:
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not in profiles")
        for prefix, name in self.timezone_profiles.items():
            if name not in self.profiles:
                raise ValueError(f"timezone_profiles[{prefix!r}] names unknown profile {name!r}")
        return self

    def profile_for_timezone(self, tz_name: str) -> str:
        for prefix, name in self.timezone_profiles.items():
            if tz_name.startswith(prefix):
                return name
        return self.default_profile

    def callback_slot(self, requested_day: date | None, moment: datetime, zone: str) -> datetime:
        """When to call a borrower back, always inside their profile's allowed window: the named day
        (if later than today) at the preferred hour, else about two hours from now, else the next day."""
        window_start, window_end = self.profiles[self.profile_for_timezone(zone)].allowed_window
        tz = ZoneInfo(zone)
        preferred = min(max(CALLBACK_PREFERRED_TIME, window_start), window_end)
        local = moment.astimezone(tz)
        if requested_day is not None and requested_day > local.date():
            return datetime.combine(requested_day, preferred, tz)
        candidate = (local + CALLBACK_DEFAULT_DELAY).replace(second=0, microsecond=0)
        if candidate.date() != local.date() or candidate.time() > window_end:
            return datetime.combine(local.date() + timedelta(days=1), preferred, tz)
        if candidate.time() < window_start:
            return datetime.combine(candidate.date(), window_start, tz)
        return candidate


def load_config(path: Path | str = CONFIG_PATH) -> ContactPolicyConfig:
    """Read and validate the policy file; ConfigFileError names the file and the offending key."""
    return load_yaml_model(path, ContactPolicyConfig)


# --- decisions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    next_allowed_at: datetime | None = None
    profile: str | None = None


# KEYS[1] answered counter (debtor, local day), KEYS[2] unanswered counter (number, local day)
# ARGV: answered cap (-1 none), unanswered cap (-1 none), mode ('check'|'answered'|'unanswered'), ttl
_DAILY_LUA = """
local answered = tonumber(redis.call('GET', KEYS[1]) or '0')
local unanswered = tonumber(redis.call('GET', KEYS[2]) or '0')
local answered_cap = tonumber(ARGV[1])
local unanswered_cap = tonumber(ARGV[2])
if answered_cap >= 0 and answered >= answered_cap then return {0, 'daily_answered_cap'} end
if unanswered_cap >= 0 and unanswered >= unanswered_cap then return {0, 'daily_unanswered_cap'} end
if ARGV[3] == 'answered' then
  redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], ARGV[4])
elseif ARGV[3] == 'unanswered' then
  redis.call('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[2], ARGV[4])
end
return {1, 'ok'}
"""

# KEYS[1] ZSET of attempt times per debt, KEYS[2] time of the last conversation about the debt
# ARGV: now ms, window ms, cap (-1 none), cool-off ms (-1 none), member, mode
# Returns {allowed, reason, ms when it frees up (0 if n/a)}.
_ROLLING_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local cooloff = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local last = redis.call('GET', KEYS[2])
if cooloff >= 0 and last and now < tonumber(last) + cooloff then
  return {0, 'cooloff_after_conversation', tonumber(last) + cooloff}
end
local count = redis.call('ZCARD', KEYS[1])
if cap >= 0 and count >= cap then
  local entry = redis.call('ZRANGE', KEYS[1], count - cap, count - cap, 'WITHSCORES')
  local frees = now + window
  if entry[2] then frees = tonumber(entry[2]) + window end
  return {0, 'rolling_attempt_cap', frees}
end
if ARGV[6] ~= 'check' then
  redis.call('ZADD', KEYS[1], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], window + 86400000)
  if ARGV[6] == 'answered' and cooloff >= 0 then
    redis.call('SET', KEYS[2], now, 'PX', cooloff + 86400000)
  end
end
return {1, 'ok', 0}
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _hash_phone(phone: str) -> str:
    """One key per line however the number is written: the ledger's "13800001234" and the dialer's
    "+8613800001234" are the same number (a masked one is kept as written)."""
    phone = e164(phone) or phone
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "*") or phone
    return hashlib.sha256(digits.encode()).hexdigest()[:16]


class ContactPolicy:
    def __init__(self, redis_client: Any, ledger: Any, config: ContactPolicyConfig | None = None) -> None:
        self._redis = redis_client
        self._ledger = ledger
        self._config = config
        self._daily = redis_client.register_script(_DAILY_LUA)
        self._rolling = redis_client.register_script(_ROLLING_LUA)

    @property
    def config(self) -> ContactPolicyConfig:
        if self._config is None:  # read on first use, never at import
            self._config = load_config()
        return self._config

    # --- public API -------------------------------------------------------------------------

    def may_contact(self, borrower_id: str, channel: str, now: datetime, *,
                    account_id: str | None = None, phone: str | None = None,
                    profile: str | None = None, state: str | None = None,
                    conversation_id: str = "") -> Decision:
        """Would a contact be allowed now? Read-only for the caps; the decision is recorded."""
        decision = self._evaluate(borrower_id, channel, now, None, account_id, phone, profile, state)
        self._record(borrower_id, channel, conversation_id,
                     "allowed_by_policy" if decision.allowed else "refused_by_policy", decision, now)
        return decision

    def record_attempt(self, borrower_id: str, channel: str, now: datetime, outcome: Outcome,
                       phone: str | None = None, account_id: str | None = None, *,
                       profile: str | None = None, state: str | None = None,
                       conversation_id: str = "") -> Decision:
        """Atomically reserve an attempt against the caps; refused means it must not proceed."""
        if outcome not in ("answered", "unanswered"):
            raise ValueError(f"outcome must be 'answered' or 'unanswered', not {outcome!r}")
        decision = self._evaluate(borrower_id, channel, now, outcome, account_id, phone, profile, state)
        self._record(borrower_id, channel, conversation_id,
                     outcome if decision.allowed else "refused_by_policy", decision, now)
        return decision

    # --- evaluation -------------------------------------------------------------------------

    def _evaluate(self, borrower_id: str, channel: str, now: datetime, outcome: Outcome | None,
                  account_id: str | None, phone: str | None, profile_name: str | None,
                  state: str | None) -> Decision:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        borrower = self._ledger.get_borrower(borrower_id)
        if borrower is None:
            return Decision(False, "unknown_borrower")
        stop = self._hard_stop(borrower, account_id)
        if stop:
            return Decision(False, stop)

        try:
            tz = ZoneInfo(borrower.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return Decision(False, "unknown_timezone")
        name = profile_name or self.config.profile_for_timezone(borrower.timezone)
        if name not in self.config.profiles:
            raise ValueError(f"unknown contact profile {name!r}")
        profile = self.config.profiles[name]

        local = now.astimezone(tz)
        if not self._in_window(local, profile):
            return Decision(False, "outside_contact_window", self._next_window_start(local, profile), name)
        if channel not in profile.counted_channels:
            return Decision(True, "ok", None, name)

        mode = outcome or "check"
        # China: per debtor / per number per local day.
        if profile.daily_answered_per_debtor is not None or profile.daily_unanswered_per_number is not None:
            if phone is None:
                phone = self._ledger.contact_phone(borrower_id)
            day = local.date().isoformat()
            unanswered_cap = profile.daily_unanswered_per_number if phone else None
            allowed, reason = self._daily(
                keys=[f"cp:cn:ans:{borrower_id}:{day}",
                      f"cp:cn:una:{_hash_phone(phone) if phone else '-'}:{day}"],
                args=[_cap(profile.daily_answered_per_debtor), _cap(unanswered_cap), mode, _DAY_TTL_SECONDS],
            )
            if not int(allowed):
                nxt = self._next_window_start(
                    datetime.combine(local.date() + timedelta(days=1), time(0), tz), profile)
                return Decision(False, _text(reason), nxt, name)

        # US: per debt, rolling window and cool-off after a conversation.
        cap = profile.rolling_attempts_per_debt
        if state and state.upper() in profile.state_caps:
            state_cap = profile.state_caps[state.upper()]
            cap = state_cap if cap is None else min(cap, state_cap)
        if cap is not None or profile.cooloff_days_after_conversation is not None:
            if account_id is None:
                account = self._ledger.get_primary_account(borrower_id)
                if account is None:
                    return Decision(False, "no_collecting_account", None, name)
                account_id = account.account_id
            now_ms = int(now.timestamp() * 1000)
            cooloff = profile.cooloff_days_after_conversation
            allowed, reason, frees_ms = self._rolling(
                keys=[f"cp:us:att:{account_id}", f"cp:us:conv:{account_id}"],
                args=[now_ms, profile.rolling_days * _MS_PER_DAY, _cap(cap),
                      -1 if cooloff is None else cooloff * _MS_PER_DAY,
                      f"{now_ms}:{uuid.uuid4().hex}", mode],
            )
            if not int(allowed):
                frees = datetime.fromtimestamp(int(frees_ms) / 1000, UTC).astimezone(tz)
                return Decision(False, _text(reason), self._earliest_allowed(frees, profile), name)
        return Decision(True, "ok", None, name)

    def _hard_stop(self, borrower: Any, account_id: str | None) -> str | None:
        if borrower.do_not_contact:
            return "do_not_contact"
        active = set(self._ledger.active_flags(borrower.borrower_id))
        for flag in self.config.blocking_flags:
            if flag in active:
                return f"{flag}_flag"
        if borrower.collection_paused:
            return "collection_paused"
        if account_id is not None:
            account = self._ledger.get_account(account_id)
            if account is None or account.borrower_id != borrower.borrower_id:
                return "unknown_account"
            if account.status == "paused":
                return "account_paused"
            if account.status != "collecting":
                return "account_not_collecting"
        return None

    @staticmethod
    def _in_window(local: datetime, profile: ProfileConfig) -> bool:
        start, end = profile.allowed_window
        return start <= local.timetz().replace(tzinfo=None) < end

    @staticmethod
    def _next_window_start(local: datetime, profile: ProfileConfig) -> datetime:
        """The next moment at or after `local` inside the window (itself if already inside)."""
        start, end = profile.allowed_window
        clock = local.time()
        if start <= clock < end:
            return local
        day = local.date() if clock < start else local.date() + timedelta(days=1)
        return datetime.combine(day, start, local.tzinfo)

    def _earliest_allowed(self, local: datetime, profile: ProfileConfig) -> datetime:
        return self._next_window_start(local, profile)

    def _record(self, borrower_id: str, channel: str, conversation_id: str, outcome: str,
                decision: Decision, now: datetime) -> None:
        if decision.reason == "unknown_borrower":
            return  # the ledger has no row to attach it to
        reason = decision.reason if decision.profile is None else f"{decision.reason} (profile={decision.profile})"
        self._ledger.record_contact_attempt(borrower_id, channel, conversation_id, outcome, reason, at=now)
        if not decision.allowed:
            log.info("contact refused reason=%s", decision.reason)


def _cap(value: int | None) -> int:
    return -1 if value is None else value
