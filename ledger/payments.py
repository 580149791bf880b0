"""Payments the lender reports (the gateway's POST /api/payments, `python -m ledger import-payments`).

A payment is keyed by the lender's payment id: the same id with the same content (account, amount, currency,
paid_at) is the same payment and returns what was recorded the first time, however often it is sent or
imported; the same id with other content is a `PaymentConflict`, and nothing changes. Concurrent deliveries of
one id make one row (primary key, the loser reads the winner's row).

A payment pays off the account's balances (fees, interest, principal: LoanAccount's columns are current
balances) in the order `payment_allocation` of policy.yml names, and covers the instalments of the account's
accepted plans, earliest due first. An account whose balance reaches zero is settled. A payment beyond the
whole balance is recorded, not refused: the lender has already received the money, and refusing the report would
leave the ledger showing a debt the borrower has paid, and the borrower being chased for it. The excess is kept
as `credit_cents` on the payment for a person to refund (a plan's fee, which the account's balances do not
carry, ends up there too when a borrower pays the whole plan).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ledger.allocation import split_over_components, split_over_instalments
from ledger.errors import LedgerError, PolicyViolation
from ledger.follow_up import (
    instalments_owing,
    lock_account,
    record_event,
    settle_account,
)
from ledger.models import (
    PAYMENT_SOURCES,
    InstalmentPlanItem,
    Payment,
    PaymentAllocation,
    PaymentInstalmentAllocation,
    utc_now,
)
from ledger.policy import CollectionPolicy
from ledger.references import mask_reference
from ledger.views import InstalmentShare, PaymentOutcome, PaymentView

log = logging.getLogger(__name__)

# Lender ids are references, not text: letters, digits and . _ : - only, so no id can carry markup or quotes.
PAYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PAYMENT_CENTS = 10**13  # 100 billion yuan: anything above is a unit mistake, not a payment
# A lender's clock may run a little ahead of ours; a payment further in the future is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
_COMPONENT_COLUMNS = {"fees": "fees_cents", "interest": "interest_cents", "principal": "principal_cents"}


class PaymentConflict(LedgerError):
    """The lender's payment id is already recorded with other content; nothing was changed."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment {mask_reference(payment_id)} is already recorded with different content")
        self.payment_id = payment_id


def check_payment_id(payment_id: object) -> str:
    if not isinstance(payment_id, str) or not PAYMENT_ID.match(payment_id):
        raise ValueError("payment_id must be 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a "
                         "letter or digit")
    return payment_id


def _same_content(row: Payment, account_id: str, amount_cents: int, currency: str, paid_at: datetime) -> bool:
    return (row.account_id, row.amount_cents, row.currency, row.paid_at) == (account_id, amount_cents, currency, paid_at)


def _view(session: Session, row: Payment) -> PaymentView:
    shares = session.execute(
        select(PaymentInstalmentAllocation, InstalmentPlanItem.due_date)
        .join(InstalmentPlanItem, (InstalmentPlanItem.plan_id == PaymentInstalmentAllocation.plan_id)
              & (InstalmentPlanItem.seq == PaymentInstalmentAllocation.seq))
        .where(PaymentInstalmentAllocation.payment_id == row.payment_id)
        .order_by(InstalmentPlanItem.due_date, PaymentInstalmentAllocation.plan_id, PaymentInstalmentAllocation.seq))
    components = session.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id == row.payment_id)
                                 .order_by(PaymentAllocation.position))
    return PaymentView(
        payment_id=row.payment_id, account_id=row.account_id, amount_cents=row.amount_cents, currency=row.currency,
        # In UTC, as stored: the row just written still holds the caller's offset, a row read back has UTC.
        paid_at=row.paid_at.astimezone(UTC), received_at=row.received_at.astimezone(UTC), source=row.source, applied_cents=row.applied_cents,
        credit_cents=row.credit_cents, balance_after_cents=row.balance_after_cents,
        components=tuple((share.component, share.amount_cents) for share in components),
        instalments=tuple(InstalmentShare(share.plan_id, share.seq, due_date, share.amount_cents)
                          for share, due_date in shares),
    )


class Payments:
    def __init__(self, session_factory: sessionmaker[Session], policy: CollectionPolicy,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._sessions = session_factory
        self._order = policy.payment_allocation
        self._grace_days = policy.follow_up.grace_days
        self._clock = clock

    def get(self, payment_id: str) -> PaymentView | None:
        with self._sessions() as session:
            row = session.get(Payment, payment_id)
            return _view(session, row) if row is not None else None

    def record(self, payment_id: str, account_id: str, amount_cents: int, currency: str, paid_at: datetime,
               source: str) -> PaymentOutcome:
        """Records and applies a payment, or returns the one already recorded under this id.

        Raises ValueError/TypeError for a malformed payment, NotFound for an unknown account, PolicyViolation
        (currency_mismatch, paid_at_in_future), PaymentConflict for a known id with different content."""
        check_payment_id(payment_id)
        if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
            raise TypeError("amount_cents must be an int number of cents")
        if not 0 < amount_cents <= MAX_PAYMENT_CENTS:
            raise ValueError(f"amount_cents must be above zero and at most {MAX_PAYMENT_CENTS}")
        if not isinstance(currency, str) or not CURRENCY.match(currency):
            raise ValueError("currency must be a three-letter ISO 4217 code such as CNY")
        if paid_at.tzinfo is None or paid_at.utcoffset() is None:
            raise ValueError("paid_at must carry a UTC offset")
        if source not in PAYMENT_SOURCES:
            raise ValueError(f"source must be one of {PAYMENT_SOURCES}")

        with self._sessions.begin() as session:
            replay = self._replay(session, payment_id, account_id, amount_cents, currency, paid_at)
            if replay is not None:
                return replay
            account = lock_account(session, account_id)
            # Read again under the lock: a delivery of the same id to the same account has committed by now.
            replay = self._replay(session, payment_id, account_id, amount_cents, currency, paid_at)
            if replay is not None:
                return replay
            received_at = self._clock()
            if currency != account.currency:
                raise PolicyViolation("currency_mismatch", f"the account is in {account.currency}")
            if paid_at > received_at + CLOCK_SKEW:
                raise PolicyViolation("paid_at_in_future", "paid_at is later than now")

            balances = {component: getattr(account, column) for component, column in _COMPONENT_COLUMNS.items()}
            split = split_over_components(amount_cents, balances, self._order)
            row = Payment(payment_id=payment_id, account_id=account_id, amount_cents=amount_cents, currency=currency,
                          paid_at=paid_at, received_at=received_at, source=source, applied_cents=split.applied,
                          credit_cents=split.credit, balance_after_cents=account.balance_cents - split.applied)
            try:
                # Savepoint: the same id for another account, delivered at the same moment, may win the key.
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                replay = self._replay(session, payment_id, account_id, amount_cents, currency, paid_at)
                if replay is None:
                    raise
                return replay

            for position, (component, paid) in enumerate(split.paid):
                column = _COMPONENT_COLUMNS[component]
                setattr(account, column, getattr(account, column) - paid)
                session.add(PaymentAllocation(payment_id=payment_id, component=component, position=position,
                                              amount_cents=paid))
            for item, paid in split_over_instalments(amount_cents, instalments_owing(session, account_id)):
                session.add(PaymentInstalmentAllocation(payment_id=payment_id, plan_id=item.plan_id, seq=item.seq,
                                                        amount_cents=paid))
            session.flush()

            record_event(session, account, "payment_received", payment_id, received_at, amount_cents)
            if account.balance_cents == 0 and account.status != "settled":
                account.status = "settled"
                record_event(session, account, "account_settled", account_id, received_at)
            settle_account(session, account, received_at, self._grace_days)
            log.info("payment recorded account=%s source=%s credit=%s", mask_reference(account_id), source,
                     split.credit > 0)
            return PaymentOutcome(_view(session, row), created=True)

    @staticmethod
    def _replay(session: Session, payment_id: str, account_id: str, amount_cents: int, currency: str,
                paid_at: datetime) -> PaymentOutcome | None:
        row = session.get(Payment, payment_id, populate_existing=True)
        if row is None:
            return None
        if not _same_content(row, account_id, amount_cents, currency, paid_at):
            raise PaymentConflict(payment_id)
        return PaymentOutcome(_view(session, row), created=False)
