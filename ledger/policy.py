"""The lender's collection policy (ledger/policy.yml): what the bot may offer, by risk tier.

Loaded and validated when a process starts (a Ledger is built with it), never on a borrower's turn. Every decision is integer arithmetic on cents.
"""

from __future__ import annotations


from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from configuration.files import load_yaml_model
from ledger.errors import PolicyViolation
from ledger.lockout import VerificationPolicy
from ledger.views import AccountView

__all__ = [
    "BALANCE_COMPONENTS",
    "CollectionPolicy",
    "FollowUpPolicy",
    "ExtensionDecision",
    "PolicyViolation",
    "TierPolicy",
    "WaiverDecision",
    "allowed_periods",
    "decide_extension",
    "decide_fee_waiver",
    "hardship_offer",
    "load_policy",
    "plan_fee_cents",
    "promise_window",
]

DEFAULT_POLICY_PATH = Path(__file__).with_name("policy.yml")
PLAN_LENGTHS = frozenset({2, 3, 6, 12})

NonNegative = Annotated[StrictInt, Field(ge=0)]
# The account's balance columns a payment reduces (LoanAccount.fees_cents, interest_cents, principal_cents).
BALANCE_COMPONENTS = ("fees", "interest", "principal")


class FeeWaiverRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hardship_full_max_dpd: NonNegative
    partial_max_pct: Annotated[StrictInt, Field(ge=0, le=100)]


class TierPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_periods: tuple[StrictInt, ...]
    min_instalment_cents: Annotated[StrictInt, Field(gt=0)]
    plan_fee_bps_per_period: Annotated[StrictInt, Field(ge=0, le=10_000)]
    promise_horizon_days: NonNegative
    max_extension_days: NonNegative
    fee_waiver: FeeWaiverRule

    @field_validator("allowed_periods")
    @classmethod
    def _known_lengths(cls, periods: tuple[int, ...]) -> tuple[int, ...]:
        if not periods:
            raise ValueError("must list at least one plan length")
        unknown = sorted(set(periods) - PLAN_LENGTHS)
        if unknown:
            raise ValueError(f"{unknown} not in the supported lengths {sorted(PLAN_LENGTHS)}")
        return tuple(sorted(set(periods)))


class FollowUpPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_days: Annotated[StrictInt, Field(ge=0, le=30)]


class CollectionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "CNY"
    tiers: dict[str, TierPolicy]
    verification: VerificationPolicy
    payment_allocation: tuple[str, ...]
    follow_up: FollowUpPolicy

    @field_validator("payment_allocation")
    @classmethod
    def _every_component_once(cls, order: tuple[str, ...]) -> tuple[str, ...]:
        if sorted(order) != sorted(BALANCE_COMPONENTS):
            raise ValueError(f"must name each of {', '.join(BALANCE_COMPONENTS)} exactly once, in the order "
                             f"a payment pays them off")
        return order

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, tiers: dict[str, TierPolicy]) -> dict[str, TierPolicy]:
        expected = {"A", "B", "C", "D"}
        if set(tiers) != expected:
            missing = sorted(expected - set(tiers))
            extra = sorted(set(tiers) - expected)
            raise ValueError(f"tiers must be exactly A, B, C, D (missing {missing}, unknown {extra})")
        return tiers

    def plan_lengths(self) -> frozenset[int]:
        """Every instalment count some tier may be offered: a count outside them is never a plan."""
        return frozenset(periods for rules in self.tiers.values() for periods in rules.allowed_periods)

    def tier(self, risk_tier: str) -> TierPolicy:
        try:
            return self.tiers[risk_tier]
        except KeyError:
            raise PolicyViolation("unknown_tier", f"no policy for risk tier {risk_tier!r}") from None


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> CollectionPolicy:
    """Read and validate a policy file; raises ConfigFileError naming the file and the offending key."""
    return load_yaml_model(path, CollectionPolicy)


# --- decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WaiverDecision:
    granted: bool
    waived_cents: int
    reason_code: str  # hardship_full | partial_by_tier | no_fees | not_eligible


@dataclass(frozen=True)
class ExtensionDecision:
    granted: bool
    new_due_date: date | None
    reason_code: str  # granted | exceeds_tier_maximum | tier_not_eligible | invalid_request | account_settled
    max_days: int = 0  # lets the dialogue counter-offer when the request was too long


def plan_fee_cents(
    balance_cents: int,
    periods: int,
    tier: str,
    hardship: bool,
    policy: CollectionPolicy,
) -> int:
    """Plan fee in cents: balance x bps x periods / 10000, half up; zero under hardship."""
    if hardship:
        return 0
    bps = policy.tier(tier).plan_fee_bps_per_period
    exact = Decimal(balance_cents) * bps * periods / Decimal(10_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allowed_periods(
    account: AccountView, hardship: bool, policy: CollectionPolicy
) -> list[int]:
    """Plan lengths of the account's tier whose instalment meets the minimum, ascending.

    The minimum is checked on the balance alone, not balance + fee: otherwise the fee would
    lift a borderline plan over the minimum and a hardship borrower (who pays no fee) would
    be offered fewer lengths than everyone else. `hardship` therefore changes the fee, not
    the lengths; `hardship_offer` picks the one to lead with.
    """
    del hardship  # same lengths either way, see above; kept so callers state the context
    rules = policy.tier(account.risk_tier)
    return [
        periods
        for periods in rules.allowed_periods
        if account.balance_cents // periods >= rules.min_instalment_cents
    ]


def hardship_offer(account: AccountView, policy: CollectionPolicy) -> int | None:
    """The plan length to offer first under hardship: the longest allowed, fee-free."""
    periods = allowed_periods(account, hardship=True, policy=policy)
    return max(periods) if periods else None


def promise_window(tier: str, today: date, policy: CollectionPolicy) -> tuple[date, date]:
    """Inclusive range of dates a promise to pay may name."""
    horizon = policy.tier(tier).promise_horizon_days
    return today, today + timedelta(days=horizon)


def decide_fee_waiver(
    account: AccountView, hardship: bool, policy: CollectionPolicy
) -> WaiverDecision:
    """Late-fee waiver: full under hardship up to N days past due, else a tier percentage."""
    rule = policy.tier(account.risk_tier).fee_waiver
    if account.fees_cents <= 0:
        return WaiverDecision(False, 0, "no_fees")
    if hardship and account.days_past_due <= rule.hardship_full_max_dpd:
        return WaiverDecision(True, account.fees_cents, "hardship_full")
    if rule.partial_max_pct > 0:
        exact = Decimal(account.fees_cents) * rule.partial_max_pct / Decimal(100)
        waived = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if waived > 0:
            return WaiverDecision(True, waived, "partial_by_tier")
    return WaiverDecision(False, 0, "not_eligible")


def decide_extension(
    account: AccountView,
    requested_days: int | None,
    today: date,
    policy: CollectionPolicy,
) -> ExtensionDecision:
    """Due-date extension within the tier maximum; `None` asks for the maximum.

    Counted from the later of the due date and today: extending an overdue account from a
    past due date would hand the borrower a new date that has already gone by.
    """
    max_days = policy.tier(account.risk_tier).max_extension_days
    if account.status == "settled":
        return ExtensionDecision(False, None, "account_settled", max_days)
    if max_days == 0:
        return ExtensionDecision(False, None, "tier_not_eligible", 0)
    days = max_days if requested_days is None else requested_days
    if days <= 0:
        return ExtensionDecision(False, None, "invalid_request", max_days)
    if days > max_days:
        return ExtensionDecision(False, None, "exceeds_tier_maximum", max_days)
    base = max(account.due_date, today)
    return ExtensionDecision(True, base + timedelta(days=days), "granted", max_days)
