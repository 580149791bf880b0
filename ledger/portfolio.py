"""What the strategy needs to know about each borrower, read for the whole portfolio in a few queries.

    facts = Portfolio(session_factory).facts(now)             # every borrower with an account to collect
    one = Portfolio(session_factory).facts(now, ["B000001"])  # or some of them

One account per borrower: the collecting (or dispute-paused) account with the largest balance, as the
conversation's `get_primary_account` chooses. Days past due are counted in the borrower's own calendar.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chinese_text.dates import DEFAULT_TIMEZONE
from ledger.models import Borrower, BorrowerFlag, Claim, ConversationRecord, DoNotContact, LoanAccount, PromiseToPay

# A paused account is still the borrower's debt: the strategy holds it (a dispute) rather than forgetting it.
_OPEN_ACCOUNT_STATUSES = ("collecting", "paused")


@dataclass(frozen=True)
class BorrowerFacts:
    borrower_id: str
    account_id: str
    timezone: str
    language: str
    days_past_due: int  # negative before the due date
    balance_cents: int
    risk_tier: str
    broken_promises: int
    open_dispute: bool
    hardship: bool
    days_since_contact: int | None  # since the last verified conversation; None: never
    contact_stopped: bool = False  # do-not-contact, or a flag that stops contact (distress, cease, wrong number)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


# The flags that stop every contact (compliance_filters/contact_policy.yml blocking_flags says the same; the contact
# policy is still asked before each contact and has the last word).
STOP_FLAGS = ("distress", "cease", "wrong_number")


class Portfolio:
    def __init__(self, session_factory: sessionmaker[Session], stop_flags: tuple[str, ...] = STOP_FLAGS) -> None:
        self._sessions = session_factory
        self._stop_flags = stop_flags

    def facts(self, now: datetime, borrower_ids: Iterable[str] | None = None) -> list[BorrowerFacts]:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        wanted = None if borrower_ids is None else list(borrower_ids)
        with self._sessions() as session:
            accounts = self._primary_accounts(session, wanted)
            if not accounts:
                return []
            ids = list(accounts)
            borrowers = {row.borrower_id: row for row in session.scalars(
                select(Borrower).where(Borrower.borrower_id.in_(ids)))}
            account_ids = [account.account_id for account in accounts.values()]
            broken = dict(session.execute(
                select(PromiseToPay.account_id, func.count()).where(
                    PromiseToPay.account_id.in_(account_ids), PromiseToPay.status == "broken")
                .group_by(PromiseToPay.account_id)).all())
            open_claims = session.execute(
                select(Claim.borrower_id, Claim.kind).where(
                    Claim.borrower_id.in_(ids), Claim.status == "open", Claim.kind.in_(("dispute", "hardship")))
                .distinct()).all()
            last_talk = dict(session.execute(
                select(ConversationRecord.borrower_id, func.max(ConversationRecord.started_at)).where(
                    ConversationRecord.borrower_id.in_(ids), ConversationRecord.identity_verified.is_(True))
                .group_by(ConversationRecord.borrower_id)).all())
            stopped = set(session.scalars(select(DoNotContact.borrower_id).where(DoNotContact.borrower_id.in_(ids))))
            stopped |= set(session.scalars(select(BorrowerFlag.borrower_id).where(
                BorrowerFlag.borrower_id.in_(ids), BorrowerFlag.cleared_at.is_(None),
                BorrowerFlag.kind.in_(self._stop_flags))))
        disputes = {borrower for borrower, kind in open_claims if kind == "dispute"}
        hardships = {borrower for borrower, kind in open_claims if kind == "hardship"}
        facts = []
        for borrower_id, account in accounts.items():
            borrower = borrowers[borrower_id]
            today = now.astimezone(_zone(borrower.timezone)).date()
            talked = last_talk.get(borrower_id)
            if talked is not None and talked.tzinfo is None:  # SQLite hands aggregates back naive (UTC)
                talked = talked.replace(tzinfo=ZoneInfo("UTC"))
            facts.append(BorrowerFacts(
                borrower_id=borrower_id, account_id=account.account_id, timezone=borrower.timezone,
                language=borrower.language, days_past_due=(today - account.due_date).days,
                balance_cents=account.balance_cents, risk_tier=account.risk_tier,
                broken_promises=broken.get(account.account_id, 0),
                open_dispute=borrower_id in disputes or account.status == "paused",
                hardship=borrower_id in hardships,
                days_since_contact=None if talked is None else (now - talked).days,
                contact_stopped=borrower_id in stopped,
            ))
        return facts

    @staticmethod
    def _primary_accounts(session: Session, borrower_ids: list[str] | None) -> dict[str, LoanAccount]:
        query = select(LoanAccount).where(LoanAccount.status.in_(_OPEN_ACCOUNT_STATUSES))
        if borrower_ids is not None:
            query = query.where(LoanAccount.borrower_id.in_(borrower_ids))
        chosen: dict[str, LoanAccount] = {}
        for account in session.scalars(query.order_by(LoanAccount.borrower_id, LoanAccount.account_id)):
            best = chosen.get(account.borrower_id)
            if best is None or _rank(account) > _rank(best):
                chosen[account.borrower_id] = account
        return chosen


def _rank(account: LoanAccount) -> tuple[bool, int]:
    """Collecting before paused, then the larger balance; ties keep the lower account id (seen first)."""
    return account.status == "collecting", account.balance_cents
