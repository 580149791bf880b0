"""SQLAlchemy 2 models of the ledger.

Money is integer cents (BigInteger); datetimes are stored in UTC through `UtcDateTime`,
because SQLite drops the offset and would otherwise hand back naive datetimes.
Enumerations are plain strings guarded by CHECK constraints so both SQLite and
PostgreSQL reject a bad value at write time without a native ENUM type to migrate.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from chinese_text.dates import DEFAULT_TIMEZONE

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime stored as UTC; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the ledger; pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=f"ck_{column}_allowed")


HONORIFICS = ("先生", "女士", "")
LANGUAGES = ("zh", "en")
RISK_TIERS = ("A", "B", "C", "D")
# closed: a person upheld the borrower's dispute of the account (Ledger.resolve_claim); nothing is collected on it.
ACCOUNT_STATUSES = ("collecting", "paused", "settled", "closed")
PLAN_STATUSES = ("proposed", "accepted", "cancelled")
CLAIM_KINDS = ("dispute", "paid", "hardship", "extension", "fee_waiver")
CLAIM_STATUSES = ("open", "closed")
# How a person closed a claim (Ledger.resolve_claim): upheld (the borrower is right), rejected (they are not),
# resolved (a hardship or request dealt with otherwise). A dispute is upheld or rejected.
CLAIM_OUTCOMES = ("upheld", "rejected", "resolved")
# portfolio: the lender's (imported, or written by its systems); demo: made up by ledger.seed, never contacted
# through a real provider (campaigns.contact).
BORROWER_SOURCES = ("portfolio", "demo")


# Every constraint gets a name a migration can drop it by. These are PostgreSQL's own default names, so the
# databases it created before this convention (ledger/migrations: the baseline) already carry them; CHECKs must
# be named by hand (_one_of).
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(column_0_name)s_check",
    "ix": "ix_%(column_0_label)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Borrower(Base):
    __tablename__ = "borrowers"
    __table_args__ = (_one_of("honorific", HONORIFICS), _one_of("language", LANGUAGES),
                      _one_of("source", BORROWER_SOURCES))

    borrower_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(100))
    honorific: Mapped[str] = mapped_column(String(4), default="")
    # Only the last four characters are ever stored in clear (PIPL minimisation).
    id_number_masked: Mapped[str] = mapped_column(String(18))
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    language: Mapped[str] = mapped_column(String(2), default="zh")
    collection_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    source: Mapped[str] = mapped_column(String(16), default="portfolio", server_default="portfolio")

    accounts: Mapped[list[LoanAccount]] = relationship(back_populates="borrower")


class BorrowerPhone(Base):
    """Each borrower's number on file in E.164 (ledger.phones), indexed: a caller is found by number.
    e164 is NULL when the number on file is not a usable number (masked, empty)."""
    __tablename__ = "borrower_phones"

    borrower_id: Mapped[str] = mapped_column(String(32), ForeignKey("borrowers.borrower_id"), primary_key=True)
    e164: Mapped[str | None] = mapped_column(String(20), index=True)


class LoanAccount(Base):
    __tablename__ = "loan_accounts"
    __table_args__ = (
        _one_of("risk_tier", RISK_TIERS),
        _one_of("status", ACCOUNT_STATUSES),
        CheckConstraint(
            "principal_cents >= 0 AND interest_cents >= 0 AND fees_cents >= 0",
            name="ck_money_not_negative",
        ),
    )

    account_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    lender_name: Mapped[str] = mapped_column(String(100))
    product: Mapped[str] = mapped_column(String(100), default="")
    principal_cents: Mapped[int] = mapped_column(BigInteger)
    interest_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # late fees and penalty
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    due_date: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    risk_tier: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(16), default="collecting")

    borrower: Mapped[Borrower] = relationship(back_populates="accounts")

    @property
    def balance_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.fees_cents


class InstalmentPlan(Base):
    __tablename__ = "instalment_plans"
    __table_args__ = (_one_of("status", PLAN_STATUSES),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.account_id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    periods: Mapped[int] = mapped_column(Integer)
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    hardship: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    items: Mapped[list[InstalmentPlanItem]] = relationship(
        back_populates="plan", order_by="InstalmentPlanItem.seq", cascade="all, delete-orphan"
    )


class InstalmentPlanItem(Base):
    __tablename__ = "instalment_plan_items"

    plan_id: Mapped[int] = mapped_column(ForeignKey("instalment_plans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    plan: Mapped[InstalmentPlan] = relationship(back_populates="items")


class PromiseToPay(Base):
    __tablename__ = "promises_to_pay"
    __table_args__ = (
        # A retried action (Rasa re-runs actions after a restart) must not double-count.
        UniqueConstraint(
            "account_id", "conversation_id", "amount_cents", "promised_date", name="uq_promise_once"
        ),
        CheckConstraint("amount_cents > 0", name="ck_promise_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.account_id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    promised_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (
        _one_of("kind", CLAIM_KINDS),
        _one_of("status", CLAIM_STATUSES),
        _one_of("outcome", CLAIM_OUTCOMES),
        # NULLs are distinct in UNIQUE constraints, so amount/date cannot be part of one
        # directly; a derived key makes "same claim, same conversation" a single row.
        UniqueConstraint("idempotency_key", name="uq_claim_once"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    account_id: Mapped[str | None] = mapped_column(ForeignKey("loan_accounts.account_id"))
    conversation_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    claimed_date: Mapped[date | None] = mapped_column(Date)
    decision: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    idempotency_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    # Set once, when a person closes the claim (Ledger.resolve_claim).
    outcome: Mapped[str | None] = mapped_column(String(16))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)


class CallbackRequest(Base):
    __tablename__ = "callback_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    callback_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class DoNotContact(Base):
    __tablename__ = "do_not_contact"

    borrower_id: Mapped[str] = mapped_column(
        ForeignKey("borrowers.borrower_id"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


SMS_OPT_OUT_SOURCES = ("carrier_opt_out", "sms_keyword")


class SmsOptOut(Base):
    """A number that must get no more SMS: the carrier said so (Twilio error 21610) or the borrower texted STOP
    (or 退订...) to our sender. Per number, not per borrower: it is the line that opted out. Rows are never deleted:
    START (UNSTOP) sets cleared_at, so the history stays; at most one uncleared row per number."""

    __tablename__ = "sms_opt_outs"
    __table_args__ = (
        _one_of("source", SMS_OPT_OUT_SOURCES),
        Index("uq_sms_opt_out_active", "number", unique=True,
              sqlite_where=text("cleared_at IS NULL"), postgresql_where=text("cleared_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20))  # E.164
    source: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str] = mapped_column(String(16), default="")  # what the borrower texted; empty for the carrier's
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_keyword: Mapped[str | None] = mapped_column(String(16))


# waiting (queued) -> taken (an agent holds the conversation) -> served (handed back); or
# waiting -> callback_offered (nobody took it in time, or a phone call could not be transferred) -> taken -> served;
# or waiting -> transferred (the carrier took the phone call to the agent line) -> taken (its transcript read) -> served.
HANDOFF_STATUSES = ("waiting", "taken", "served", "callback_offered", "transferred")


class HandoffRequest(Base):
    __tablename__ = "handoff_requests"
    __table_args__ = (UniqueConstraint("conversation_id", "reason", name="uq_handoff_once"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    borrower_id: Mapped[str | None] = mapped_column(ForeignKey("borrowers.borrower_id"))
    reason: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)  # lower is sooner; distress is 0
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    taken_by: Mapped[str | None] = mapped_column(String(64))  # the console agent who took it (review samples per agent)


class ContactAttempt(Base):
    __tablename__ = "contact_attempts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, index=True)


class ConversationRecord(Base):
    __tablename__ = "conversations"

    conversation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    borrower_id: Mapped[str | None] = mapped_column(ForeignKey("borrowers.borrower_id"))
    channel: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    identity_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    # The campaign contact (a chat reminder) whose signed link opened this chat: what its promises are attributed to.
    # A call the dialer placed needs none, its conversation id is the contact's attempt id.
    campaign_attempt_id: Mapped[str | None] = mapped_column(String(32), index=True)


IDENTITY_CHECK_METHODS = ("id_last4", "date_of_birth")
# locked_out: the answer was not compared, because the borrower's check was locked (ledger.lockout).
IDENTITY_CHECK_RESULTS = ("passed", "failed", "locked_out")


class IdentityCheck(Base):
    """Every answer to the identity question: the record actions trust (never the tracker alone) for which
    conversation was verified, when and how, and the count that locks repeated failures."""

    __tablename__ = "identity_checks"
    __table_args__ = (
        _one_of("method", IDENTITY_CHECK_METHODS),
        _one_of("result", IDENTITY_CHECK_RESULTS),
        Index("ix_identity_checks_borrower_time", "borrower_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"))
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(String(16))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VerificationUnlock(Base):
    """A person reset a borrower's failed identity checks (python -m ledger unlock-verification)."""

    __tablename__ = "verification_unlocks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    unlocked_by: Mapped[str] = mapped_column(String(64))
    unlocked_at: Mapped[datetime] = mapped_column(UtcDateTime)


# wrong_number: the party says the bot reached the wrong person (the number on file is not the borrower's).
REVIEW_REQUEST_KINDS = ("distress", "do_not_contact", "dispute", "wrong_number")
REVIEW_REQUEST_STATUSES = ("pending", "applied", "dismissed")


class ReviewRequest(Base):
    """A request from a party whose identity was not verified (stop contact, dispute, distress), kept for a person
    to review: nobody on the line was known to be the borrower, so nothing was changed on the account. Applying it
    (Ledger.apply_review_request) does what a verified borrower's request does at once. One per conversation and
    kind; `borrower_id` is the id the conversation was opened for, only when the ledger knows it."""

    __tablename__ = "review_requests"
    __table_args__ = (
        _one_of("kind", REVIEW_REQUEST_KINDS),
        _one_of("status", REVIEW_REQUEST_STATUSES),
        UniqueConstraint("conversation_id", "kind", name="uq_review_request_once"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    borrower_id: Mapped[str | None] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    said: Mapped[str] = mapped_column(Text, default="")  # the words, ID digits starred
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))


class Complaint(Base):
    """The party complained about being contacted ("你们烦不烦啊，天天打": intent complain_contact), recorded by the
    action that answers it, once per conversation, the first words kept (ID digits starred). Quality review chooses
    these conversations; the dashboard's complaint rate counts them. `borrower_id` only when the ledger knows it."""

    __tablename__ = "complaints"
    __table_args__ = (UniqueConstraint("conversation_id", name="uq_complaint_once"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    borrower_id: Mapped[str | None] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    said: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, index=True)


# wrong_number: a person confirmed the number on file reaches someone else (Ledger.apply_review_request).
FLAG_KINDS = ("distress", "cease", "vulnerable", "wrong_number")
# system: what no one said but the chain vouches for (a call recording's hash, who played a recording).
AUDIT_SPEAKERS = ("bot", "borrower", "agent", "system")


class BorrowerFlag(Base):
    """A condition that stops collection until a human clears it (distress, cease request...).

    Rows are never deleted: clearing sets cleared_at/cleared_by, so the history stays auditable.
    """

    __tablename__ = "borrower_flags"
    __table_args__ = (
        # At most one uncleared flag of a kind per borrower, even under concurrent writers.
        Index(
            "uq_borrower_flag_active", "borrower_id", "kind", unique=True,
            sqlite_where=text("cleared_at IS NULL"), postgresql_where=text("cleared_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(64))


class AuditRecord(Base):
    """One link of the tamper-evident audit chain (see bot.audit)."""

    __tablename__ = "audit_records"
    # sqlite_autoincrement: ids are never reused after a purge empties the table.
    __table_args__ = (_one_of("speaker", AUDIT_SPEAKERS), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    # No foreign key: the audit trail must outlive borrower deletion (retention differs).
    borrower_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    allowed: Mapped[bool | None] = mapped_column(Boolean)
    rules: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of rule names
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # Unique: two records can never claim the same predecessor, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    """Written by a retention purge: the chain now starts after `last_purged_id`, whose
    record_hash (`anchor_hash`) the oldest remaining record must point back to."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    last_purged_id: Mapped[int] = mapped_column(BigInteger)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    purged_count: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


# --- outbound campaigns (campaigns/) ----------------------------------------------------------

class SegmentChange(Base):
    """A borrower moved to a strategy segment (campaigns/strategy.yml), and why. Rows are never updated: the
    latest row per borrower is the borrower's segment, the rest is the history a supervisor reads."""

    __tablename__ = "segment_changes"
    __table_args__ = (Index("ix_segment_changes_borrower_time", "borrower_id", "changed_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.account_id"))
    segment: Mapped[str] = mapped_column(String(64))
    previous_segment: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


CAMPAIGN_STATUSES = ("active", "paused")


class CampaignState(Base):
    """Whether a supervisor paused a campaign; a campaign with no row is active."""

    __tablename__ = "campaign_states"
    __table_args__ = (_one_of("status", CAMPAIGN_STATUSES),)

    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


# planned -> refused (contact policy said no) | deferred (no free line; tried again) | error (fail closed) |
# sent (a message) | dialled -> answered / no_answer / busy / failed / canceled / machine (the carrier's word).
# 'unknown': claimed, and the worker stopped before it recorded an outcome (campaigns.tick closes it).
CAMPAIGN_CONTACT_STATUSES = ("planned", "deferred", "refused", "error", "sent", "dialled", "answered",
                             "no_answer", "busy", "failed", "canceled", "machine", "unknown")


class CampaignContact(Base):
    """One contact the campaign worker decided on. `contact_key` (campaign and local day, or the callback) is
    unique per borrower, so two workers, or one restarted after a crash, never contact a borrower twice for it."""

    __tablename__ = "campaign_contacts"
    __table_args__ = (
        _one_of("status", CAMPAIGN_CONTACT_STATUSES),
        UniqueConstraint("borrower_id", "contact_key", name="uq_campaign_contact_once"),
        Index("ix_campaign_contacts_borrower_time", "borrower_id", "planned_at"),
        Index("ix_campaign_contacts_campaign_time", "campaign", "planned_at"),
    )

    attempt_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.account_id"))
    campaign: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(64))
    contact_key: Mapped[str] = mapped_column(String(96))
    channel: Mapped[str] = mapped_column(String(16))  # call | message
    script: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    reason: Mapped[str] = mapped_column(Text, default="")
    provider_id: Mapped[str | None] = mapped_column(String(64))  # the carrier's call id, the provider's message id
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# reviewer: reads and scores conversations in the quality review (bot.console.review), never takes one.
AGENT_ROLES = ("agent", "supervisor", "reviewer")


class ConsoleAgent(Base):
    """A person who signs in to the agent console (bot.console). Only an argon2 hash of the password."""

    __tablename__ = "console_agents"
    __table_args__ = (_one_of("role", AGENT_ROLES),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


# --- payments and follow-up (ledger.payments, ledger.follow_up) ----------------------------------------------

PAYMENT_SOURCES = ("api", "csv")
PAYMENT_COMPONENTS = ("fees", "interest", "principal")
INSTALMENT_OUTCOMES = ("paid", "missed", "cancelled")
FOLLOW_UP_EVENT_KINDS = (
    "payment_received", "account_settled", "promise_kept", "promise_broken", "instalment_paid", "instalment_missed",
)


class Payment(Base):
    """A payment the lender reports, keyed by the lender's own payment id (a retry or a re-imported file is the
    same payment). amount = applied (off the account's balances) + credit (beyond the balance, kept for a person
    to refund)."""

    __tablename__ = "payments"
    __table_args__ = (
        _one_of("source", PAYMENT_SOURCES),
        CheckConstraint("amount_cents > 0", name="ck_payment_positive"),
        CheckConstraint("applied_cents >= 0 AND credit_cents >= 0 AND applied_cents + credit_cents = amount_cents",
                        name="ck_payment_applied_plus_credit"),
        CheckConstraint("balance_after_cents >= 0", name="ck_payment_balance_after"),
    )

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.account_id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(8))
    applied_cents: Mapped[int] = mapped_column(BigInteger)
    credit_cents: Mapped[int] = mapped_column(BigInteger)
    balance_after_cents: Mapped[int] = mapped_column(BigInteger)


class PaymentAllocation(Base):
    """How much of a payment went to one balance component; position is the policy's order at the time."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        _one_of("component", PAYMENT_COMPONENTS),
        CheckConstraint("amount_cents > 0", name="ck_payment_allocation_positive"),
    )

    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.payment_id"), primary_key=True)
    component: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class PaymentInstalmentAllocation(Base):
    """How much of a payment went to one instalment of an accepted plan (earliest due first)."""

    __tablename__ = "payment_instalment_allocations"
    __table_args__ = (
        ForeignKeyConstraint(["plan_id", "seq"], ["instalment_plan_items.plan_id", "instalment_plan_items.seq"],
                             name="fk_payment_instalment_item"),
        CheckConstraint("amount_cents > 0", name="ck_payment_instalment_positive"),
        Index("ix_payment_instalment_item", "plan_id", "seq"),
    )

    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.payment_id"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)


class InstalmentOutcome(Base):
    """The judgement on one instalment of an accepted plan: paid (covered in full), missed (not covered when
    judged), cancelled (the account was settled before it fell due). One per instalment, never changed."""

    __tablename__ = "instalment_outcomes"
    __table_args__ = (
        ForeignKeyConstraint(["plan_id", "seq"], ["instalment_plan_items.plan_id", "instalment_plan_items.seq"],
                             name="fk_instalment_outcome_item"),
        _one_of("outcome", INSTALMENT_OUTCOMES),
    )

    plan_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    paid_cents: Mapped[int] = mapped_column(BigInteger)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FollowUpEvent(Base):
    """What happened to a borrower's account that the strategy re-segments on (an outbox: read in id order with
    ledger.follow_up.FollowUp.events_after). One per kind and reference, so recording it twice is one event.

    reference: the lender's payment id (payment_received), the account id (account_settled), the promise id
    (promise_*), "plan_id/seq" (instalment_*). amount_cents: the payment's, promise's or instalment's amount;
    paid_cents: what payments covered of a promise or instalment."""

    __tablename__ = "follow_up_events"
    __table_args__ = (
        _one_of("kind", FOLLOW_UP_EVENT_KINDS),
        UniqueConstraint("kind", "reference", name="uq_follow_up_event_once"),
        {"sqlite_autoincrement": True},  # ids only grow: a reader resumes after the last id it handled
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("loan_accounts.account_id"))
    reference: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    paid_cents: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)


MESSAGE_CHANNELS = ("sms", "wechat")


class DemoInboxMessage(Base):
    """A reminder the demo messenger kept instead of sending (campaigns.demo_inbox), shown on /demo/inbox. Holds
    only what a real message would carry: an invitation and a link, never a debt detail."""

    __tablename__ = "demo_inbox_messages"
    __table_args__ = (_one_of("channel", MESSAGE_CHANNELS), Index("ix_demo_inbox_borrower", "borrower_id", "id"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64))  # masked: the page is open to anyone with the demo
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


# --- quality review (ledger.quality_review, bot.console.review) -----------------------------------------------

REVIEW_RULES = ("compliance_block", "distress", "dispute", "complaint", "verification_lockout", "not_understood",
                "sample_agent", "sample_script")
CHECKLIST_ITEMS = ("identity_before_detail", "ai_disclosed", "no_pressure", "correct_figures", "handoff_when_asked")
CHECKLIST_MARKS = ("pass", "fail", "na")


class ReviewItem(Base):
    """A conversation chosen for quality review, once, with every reason it was chosen (`reasons`: a JSON list of
    {"rule", "detail"}, rule one of REVIEW_RULES). `agent` is the console agent who took it, or "bot"; `script` the
    campaign script of the call or message that opened it, or "inbound". A random pick records the rate and seed."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("conversation_id", name="uq_review_item_once"),
        Index("ix_review_items_day", "day"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    borrower_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(String(64))
    script: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)  # of the conversation's first audited utterance, in Asia/Shanghai
    reasons: Mapped[str] = mapped_column(Text)
    sample_rate: Mapped[float | None] = mapped_column(Float)
    sample_seed: Mapped[str | None] = mapped_column(String(64))
    selected_at: Mapped[datetime] = mapped_column(UtcDateTime)


def _mark(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ('pass', 'fail', 'na')", name=f"ck_{column}_mark")


class QualityReview(Base):
    """A reviewer's scores of one review item against the checklist, and notes. One per item (UNIQUE): a second
    reviewer's save is refused, never overwrites the first."""

    __tablename__ = "quality_reviews"
    __table_args__ = (
        UniqueConstraint("item_id", name="uq_quality_review_once"),
        *(_mark(item) for item in CHECKLIST_ITEMS),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    reviewer: Mapped[str] = mapped_column(String(64))
    identity_before_detail: Mapped[str] = mapped_column(String(4))
    ai_disclosed: Mapped[str] = mapped_column(String(4))
    no_pressure: Mapped[str] = mapped_column(String(4))
    correct_figures: Mapped[str] = mapped_column(String(4))
    handoff_when_asked: Mapped[str] = mapped_column(String(4))
    notes: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TranscriptView(Base):
    """A reviewer (or supervisor) opened a review item's transcript: who and when."""

    __tablename__ = "transcript_views"
    __table_args__ = (Index("ix_transcript_views_item", "item_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    viewer: Mapped[str] = mapped_column(String(64))
    viewed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Recording(Base):
    """A voice call's recording (bot.recordings): where the file is, what it is, its hash (also in the audit chain),
    and until when it is kept. No foreign key to the borrower: a recording outlives nothing it names."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_retention", "retention_until"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64), unique=True)
    borrower_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    store: Mapped[str] = mapped_column(String(255))  # the store's location (a directory, a bucket)
    key: Mapped[str] = mapped_column(String(255))
    codec: Mapped[str] = mapped_column(String(32))
    media_type: Mapped[str] = mapped_column(String(64))
    channels: Mapped[int] = mapped_column(Integer)
    sample_rate: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retention_until: Mapped[datetime] = mapped_column(UtcDateTime)


class RecordingPlayback(Base):
    """Someone in the console fetched (part of) a recording: who, when, which bytes. Kept when the recording is
    purged (the id stays as a plain number), like the audit's record of it."""

    __tablename__ = "recording_playbacks"
    __table_args__ = (Index("ix_recording_playbacks_recording", "recording_id", "played_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    recording_id: Mapped[int] = mapped_column(IdType)
    conversation_id: Mapped[str] = mapped_column(String(64))
    viewer: Mapped[str] = mapped_column(String(64))
    byte_range: Mapped[str] = mapped_column(String(64))  # "0-1023/4096", or "all"
    played_at: Mapped[datetime] = mapped_column(UtcDateTime)
