"""Import a lender's payments CSV (`python -m ledger import-payments FILE`).

Unlike the portfolio import, each row stands alone: a valid row is recorded even when another row is wrong, and
every wrong row is reported with its line number. Rows are keyed by the lender's payment id (ledger.payments),
so importing the same file again, or a corrected file, records only what was not recorded yet; a payment id
already recorded with other content is reported and changes nothing.

Columns: payment_id, account_id, amount (yuan, up to two decimals, as in the portfolio file), paid_at (ISO 8601
with its UTC offset), currency (optional, CNY when empty).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ledger.csv_import import RowChecker, RowError, decode_csv
from ledger.errors import NotFound, PolicyViolation
from ledger.payments import CURRENCY, PaymentConflict, Payments, check_payment_id
from ledger.views import PaymentView

REQUIRED_COLUMNS = ("payment_id", "account_id", "amount", "paid_at")
DEFAULT_CURRENCY = "CNY"


@dataclass(frozen=True)
class PaymentImportReport:
    rows_read: int = 0
    new_payments: tuple[PaymentView, ...] = ()  # recorded by this import (not before)
    already_recorded: int = 0
    errors: tuple[RowError, ...] = field(default_factory=tuple)

    @property
    def recorded(self) -> int:
        return len(self.new_payments)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        counts = (f"{self.rows_read} rows: {self.recorded} payments recorded, "
                  f"{self.already_recorded} already recorded")
        if self.ok:
            return counts
        return f"{counts}; {len(self.errors)} error(s), those rows not recorded:\n" + "\n".join(map(str, self.errors))


def _check_row(line: int, record: dict[str, str], errors: list[RowError]) -> dict[str, object] | None:
    found: list[RowError] = []
    check = RowChecker(line, record, found)
    check.text("payment_id", max_len=64)
    if "payment_id" in check.values:
        try:
            check_payment_id(check.values["payment_id"])
        except ValueError as problem:
            del check.values["payment_id"]
            check.fail("payment_id", str(problem))
    check.text("account_id", max_len=32)
    check.money("amount")
    if check.values.get("amount") == 0:
        check.fail("amount", "a payment is above zero")
    check.moment("paid_at")
    currency = (record.get("currency") or "").strip() or DEFAULT_CURRENCY
    if not CURRENCY.match(currency):
        check.fail("currency", f"{currency[:8]!r} is not a three-letter currency code such as CNY")
    check.values["currency"] = currency
    if None in record:
        check.fail("", "more fields than the header has columns")
    errors.extend(found)
    return None if found else check.values


def import_payments_csv(payments: Payments, path: str | Path) -> PaymentImportReport:
    errors: list[RowError] = []
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return PaymentImportReport(errors=(RowError(0, "", f"cannot read file: {exc.strerror}"),))
    text = decode_csv(raw, errors)
    if text is None:
        return PaymentImportReport(errors=tuple(errors))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        return PaymentImportReport(errors=(RowError(1, "", f"missing column(s): {', '.join(missing)}"),))
    reader.fieldnames = header

    rows_read = already = 0
    new_payments: list[PaymentView] = []
    for record in reader:
        if not any((value or "").strip() for key, value in record.items() if key is not None):
            continue
        rows_read += 1
        line = reader.line_num  # the physical line the record ended on, as editors show it
        values = _check_row(line, record, errors)
        if values is None:
            continue
        try:
            outcome = payments.record(values["payment_id"], values["account_id"], values["amount"],
                                      values["currency"], values["paid_at"], source="csv")
        except NotFound:
            errors.append(RowError(line, "account_id", "no such account in the ledger"))
        except PaymentConflict:
            errors.append(RowError(line, "payment_id", "already recorded with a different account, amount, "
                                                       "currency or paid_at; nothing changed"))
        except PolicyViolation as refusal:
            errors.append(RowError(line, "currency" if refusal.code == "currency_mismatch" else "paid_at",
                                   refusal.message))
        else:
            if outcome.created:
                new_payments.append(outcome.payment)
            else:
                already += 1
    return PaymentImportReport(rows_read, tuple(new_payments), already, tuple(errors))
