"""Borrowers, accounts and promises written straight into a test ledger, with exactly the balances, time zone and
creation time a payments or follow-up test needs (the demo seed's are fixed and dated by the wall clock)."""
from __future__ import annotations

from datetime import date, datetime

from ledger.models import Borrower, LoanAccount, PromiseToPay


def add_account(sessions, account_id: str, *, borrower_id: str | None = None, timezone: str = "Asia/Shanghai",
                fees: int = 0, interest: int = 0, principal: int = 0, currency: str = "CNY",
                risk_tier: str = "A") -> None:
    borrower_id = borrower_id or f"B-{account_id}"
    with sessions.begin() as session:
        if session.get(Borrower, borrower_id) is None:
            session.add(Borrower(borrower_id=borrower_id, full_name="测试", id_number_masked="110101********3821",
                                 date_of_birth=date(1990, 1, 1), timezone=timezone))
        session.add(LoanAccount(account_id=account_id, borrower_id=borrower_id, lender_name="测试金融",
                                principal_cents=principal, interest_cents=interest, fees_cents=fees,
                                currency=currency, due_date=date(2026, 11, 1), days_past_due=20, risk_tier=risk_tier))


def add_promise(sessions, account_id: str, amount_cents: int, promised_date: date, made_at: datetime) -> int:
    with sessions.begin() as session:
        row = PromiseToPay(account_id=account_id, conversation_id=f"conv-{made_at.isoformat()}",
                           amount_cents=amount_cents, promised_date=promised_date, created_at=made_at)
        session.add(row)
        session.flush()
        return row.id
