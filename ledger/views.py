"""Frozen views the repository returns; ORM objects never leave the ledger package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class BorrowerView:
    borrower_id: str
    full_name: str
    honorific: str
    id_last4: str
    date_of_birth: date
    timezone: str
    language: str
    collection_paused: bool
    do_not_contact: bool
    source: str = "portfolio"  # "demo": made up by ledger.seed (ledger.models.BORROWER_SOURCES)


@dataclass(frozen=True)
class AccountView:
    account_id: str
    borrower_id: str
    lender_name: str
    principal_cents: int
    interest_cents: int
    fees_cents: int
    balance_cents: int
    due_date: date
    days_past_due: int
    risk_tier: str
    status: str
    product: str = ""
    currency: str = "CNY"


@dataclass(frozen=True)
class PlanView:
    plan_id: int
    account_id: str
    conversation_id: str
    periods: int
    fee_cents: int
    total_cents: int
    items: tuple[tuple[date, int], ...]
    status: str
    hardship: bool = False


@dataclass(frozen=True)
class PromiseView:
    promise_id: int
    account_id: str
    conversation_id: str
    amount_cents: int
    promised_date: date
    status: str
    created_at: datetime


@dataclass(frozen=True)
class ClaimView:
    claim_id: int
    borrower_id: str
    account_id: str | None
    conversation_id: str
    kind: str
    detail: str
    amount_cents: int | None
    claimed_date: date | None
    decision: str | None
    status: str  # open | closed
    created_at: datetime
    outcome: str | None = None  # upheld | rejected | resolved, once closed (Ledger.resolve_claim)
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None


@dataclass(frozen=True)
class HandoffView:
    handoff_id: int
    conversation_id: str
    borrower_id: str | None
    reason: str
    priority: int
    status: str
    created_at: datetime
    taken_by: str | None = None  # the console agent who took it


@dataclass(frozen=True)
class CallbackView:
    callback_id: int
    borrower_id: str
    conversation_id: str
    callback_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class ContactAttemptView:
    attempt_id: int
    borrower_id: str
    channel: str
    conversation_id: str
    outcome: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class ConversationView:
    conversation_id: str
    borrower_id: str | None
    channel: str
    started_at: datetime
    ended_at: datetime | None
    identity_verified: bool
    outcome: str | None
    summary: str | None
    campaign_attempt_id: str | None = None  # the chat reminder whose link opened it (ledger.models)


@dataclass(frozen=True)
class BorrowerFlagView:
    flag_id: int
    borrower_id: str
    kind: str
    reason: str
    created_at: datetime
    cleared_at: datetime | None
    cleared_by: str | None


@dataclass(frozen=True)
class IdentityCheckView:
    check_id: int
    borrower_id: str
    conversation_id: str
    channel: str
    method: str  # id_last4 | date_of_birth
    result: str  # passed | failed | locked_out
    checked_at: datetime


@dataclass(frozen=True)
class IdentityCheckOutcome:
    result: str  # passed | failed | locked_out (not compared)
    locked_until: datetime | None  # the lockout in force after this check, if any

    @property
    def passed(self) -> bool:
        return self.result == "passed"


@dataclass(frozen=True)
class ReviewRequestView:
    request_id: int
    conversation_id: str
    borrower_id: str | None
    channel: str
    kind: str
    said: str
    status: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None


@dataclass(frozen=True)
class InstalmentShare:
    plan_id: int
    seq: int
    due_date: date
    amount_cents: int  # of this payment, toward the instalment


@dataclass(frozen=True)
class PaymentView:
    """A recorded payment as it was applied when it arrived (a replay returns exactly this)."""

    payment_id: str  # the lender's
    account_id: str
    amount_cents: int
    currency: str
    paid_at: datetime
    received_at: datetime
    source: str  # api | csv
    applied_cents: int
    credit_cents: int  # beyond the whole balance, kept for a person to refund
    balance_after_cents: int
    components: tuple[tuple[str, int], ...]  # (fees | interest | principal, cents), in the order paid
    instalments: tuple[InstalmentShare, ...]


@dataclass(frozen=True)
class PaymentOutcome:
    payment: PaymentView
    created: bool  # False: this payment id was already recorded with the same content


@dataclass(frozen=True)
class FollowUpEventView:
    """kind: payment_received | account_settled | promise_kept | promise_broken | instalment_paid |
    instalment_missed. reference: the lender's payment id, the account id, the promise id, or "plan_id/seq"."""

    event_id: int
    kind: str
    borrower_id: str
    account_id: str
    reference: str
    amount_cents: int | None
    paid_cents: int | None
    occurred_at: datetime


@dataclass(frozen=True)
class DueReminder:
    """A promise or instalment falling due on the borrower's next local day, with what is still owed on it."""

    borrower_id: str
    account_id: str
    kind: str  # promise | instalment
    reference: str  # the promise id, or "plan_id/seq"
    due_date: date
    amount_cents: int  # still owed: the amount less payments already counted toward it
