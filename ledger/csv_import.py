"""Import a lender's portfolio CSV: validate every row, then import all of it or nothing.

Operators fix a file in one pass, so every error is reported with its line number rather
than stopping at the first. Error messages name the column but do not echo personal data.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chinese_text.dates import DEFAULT_TIMEZONE
from ledger.models import HONORIFICS, LANGUAGES, RISK_TIERS, Borrower, LoanAccount

COLUMNS = (
    "borrower_id", "full_name", "honorific", "id_number_masked", "date_of_birth", "phone",
    "timezone", "language", "account_id", "lender_name", "product", "principal", "interest",
    "fees", "due_date", "days_past_due", "risk_tier",
)
BORROWER_FIELDS = ("full_name", "honorific", "id_number_masked", "date_of_birth", "phone",
                   "timezone", "language")
# Either region prefix + 8 masked digits, or fully masked; only the last four in clear.
MASKED_ID = re.compile(r"^(\d{6}\*{8}|\*{14})\d{3}[\dX]$")
YUAN = re.compile(r"^\d+(\.\d{1,2})?$")


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ImportReport:
    ok: bool
    rows_read: int = 0
    borrowers_created: int = 0
    accounts_created: int = 0
    errors: tuple[RowError, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        if self.ok:
            return (f"imported {self.rows_read} rows: {self.borrowers_created} new borrowers, "
                    f"{self.accounts_created} new accounts")
        return f"nothing imported; {len(self.errors)} error(s):\n" + "\n".join(map(str, self.errors))


@dataclass
class _Row:
    line: int
    values: dict[str, object]


def _yuan_to_cents(text: str) -> int:
    """'1234.5' -> 123450; Decimal so no binary rounding ever touches money."""
    return int((Decimal(text) * 100).to_integral_exact())


class RowChecker:
    """Turns one CSV record into typed values, collecting every problem it finds."""

    def __init__(self, line: int, record: dict[str, str], errors: list[RowError]) -> None:
        self.line = line
        self.record = record
        self.errors = errors
        self.values: dict[str, object] = {}

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.line, column, message))

    def text(self, column: str, *, required: bool = True, default: str = "", max_len: int = 100) -> None:
        value = (self.record.get(column) or "").strip()
        if not value:
            if required:
                self.fail(column, "is required")
                return
            value = default
        if len(value) > max_len:
            self.fail(column, f"longer than {max_len} characters")
            return
        self.values[column] = value

    def choice(self, column: str, allowed: tuple[str, ...], default: str | None = None) -> None:
        value = (self.record.get(column) or "").strip()
        if not value and default is not None:
            value = default
        if value not in allowed:
            shown = ", ".join(repr(option) for option in allowed)
            self.fail(column, f"{value!r} is not one of {shown}")
            return
        self.values[column] = value

    def iso_date(self, column: str, *, echo: bool = True) -> None:
        value = (self.record.get(column) or "").strip()
        try:
            self.values[column] = date.fromisoformat(value)
        except ValueError:
            shown = f" {value!r}" if echo else ""
            self.fail(column, f"date{shown} is not YYYY-MM-DD")

    def money(self, column: str) -> None:
        value = (self.record.get(column) or "").strip()
        if not YUAN.match(value):
            self.fail(column, f"{value!r} is not a non-negative amount in yuan with up to 2 decimals")
            return
        try:
            self.values[column] = _yuan_to_cents(value)
        except InvalidOperation:
            self.fail(column, f"{value!r} is not a number")

    def moment(self, column: str) -> None:
        """An ISO 8601 date and time with its UTC offset: a time without one would be a guess."""
        value = (self.record.get(column) or "").strip()
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(column, f"{value[:40]!r} is not an ISO 8601 date and time, e.g. 2026-11-23T14:05:00+08:00")
            return
        if moment.tzinfo is None or moment.utcoffset() is None:
            self.fail(column, "needs a UTC offset, e.g. 2026-11-23T14:05:00+08:00")
            return
        self.values[column] = moment

    def whole_days(self, column: str) -> None:
        value = (self.record.get(column) or "").strip()
        if not value.isdigit():
            self.fail(column, f"{value!r} is not a whole number of days >= 0")
            return
        self.values[column] = int(value)

    def masked_id(self, column: str) -> None:
        value = (self.record.get(column) or "").strip().upper()
        if not MASKED_ID.match(value):
            # Never echo: an unmasked id number must not end up in a report or a terminal log.
            self.fail(column, "must be 18 characters with only the last 4 unmasked, e.g. 110101********3821")
            return
        self.values[column] = value

    def zone(self, column: str) -> None:
        value = (self.record.get(column) or "").strip() or DEFAULT_TIMEZONE
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(column, f"{value!r} is not an IANA time zone")
            return
        self.values[column] = value


def _check_row(line: int, record: dict[str, str], errors: list[RowError]) -> _Row:
    check = RowChecker(line, record, errors)
    check.text("borrower_id", max_len=32)
    check.text("full_name")
    check.choice("honorific", HONORIFICS, default="")
    check.masked_id("id_number_masked")
    check.iso_date("date_of_birth", echo=False)
    check.text("phone", required=False, max_len=32)
    check.zone("timezone")
    check.choice("language", LANGUAGES, default="zh")
    check.text("account_id", max_len=32)
    check.text("lender_name")
    check.text("product", required=False)
    for column in ("principal", "interest", "fees"):
        check.money(column)
    check.iso_date("due_date")
    check.whole_days("days_past_due")
    check.choice("risk_tier", RISK_TIERS)
    if None in record:
        errors.append(RowError(line, "", "more fields than the header has columns"))
    return _Row(line, check.values)


def decode_csv(raw: bytes, errors: list[RowError]) -> str | None:
    try:
        return raw.decode("utf-8-sig")  # the BOM Excel writes is optional
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        errors.append(RowError(line, "", "file is not UTF-8 (save it as 'CSV UTF-8')"))
        return None


def _read_rows(text: str, errors: list[RowError]) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        errors.append(RowError(1, "", f"missing column(s): {', '.join(missing)}"))
        return []
    reader.fieldnames = header
    rows = []
    for record in reader:
        # line_num is the physical line the record ended on, which is what editors show.
        if not any((value or "").strip() for key, value in record.items() if key is not None):
            continue
        rows.append(_check_row(reader.line_num, record, errors))
    if not rows and not errors:
        errors.append(RowError(2, "", "no data rows"))
    return rows


def _check_across_rows(rows: list[_Row], session: Session, errors: list[RowError]) -> None:
    """Duplicates within the file, conflicting borrower details, ids already in the ledger."""
    first_account_line: dict[str, int] = {}
    borrower_details: dict[str, tuple[int, tuple]] = {}
    for row in rows:
        account_id = row.values.get("account_id")
        if account_id is not None:
            if account_id in first_account_line:
                errors.append(RowError(row.line, "account_id",
                                       f"duplicate account_id (first on line {first_account_line[account_id]})"))
            else:
                first_account_line[account_id] = row.line
        borrower_id = row.values.get("borrower_id")
        if borrower_id is not None:
            details = tuple(row.values.get(name) for name in BORROWER_FIELDS)
            if borrower_id in borrower_details and borrower_details[borrower_id][1] != details:
                errors.append(RowError(row.line, "borrower_id",
                                       "same borrower_id with different borrower details "
                                       f"than line {borrower_details[borrower_id][0]}"))
            borrower_details.setdefault(borrower_id, (row.line, details))

    if first_account_line:
        existing = set(session.scalars(
            select(LoanAccount.account_id).where(LoanAccount.account_id.in_(list(first_account_line)))))
        for account_id in sorted(existing, key=first_account_line.get):
            errors.append(RowError(first_account_line[account_id], "account_id",
                                   "account_id already exists in the ledger"))


def import_portfolio_csv(session_factory: sessionmaker[Session], path: str | Path) -> ImportReport:
    """Validate the whole file, then insert it in one transaction; any error imports nothing.

    Borrowers already in the ledger are kept as they are and get the new accounts;
    an account_id already in the ledger is an error (this is not an update tool).
    """
    errors: list[RowError] = []
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return ImportReport(ok=False, errors=(RowError(0, "", f"cannot read file: {exc.strerror}"),))
    text = decode_csv(raw, errors)
    rows = _read_rows(text, errors) if text is not None else []

    with session_factory.begin() as session:
        _check_across_rows(rows, session, errors)
        if errors:
            return ImportReport(ok=False, rows_read=len(rows),
                                errors=tuple(sorted(errors, key=lambda error: error.line)))
        known = set(session.scalars(select(Borrower.borrower_id).where(
            Borrower.borrower_id.in_({row.values["borrower_id"] for row in rows}))))
        borrowers_created = 0
        for row in rows:
            values = row.values
            if values["borrower_id"] not in known:
                session.add(Borrower(borrower_id=values["borrower_id"],
                                     **{name: values[name] for name in BORROWER_FIELDS}))
                known.add(values["borrower_id"])
                borrowers_created += 1
        for row in rows:
            values = row.values
            session.add(LoanAccount(
                account_id=values["account_id"], borrower_id=values["borrower_id"],
                lender_name=values["lender_name"], product=values["product"],
                principal_cents=values["principal"], interest_cents=values["interest"],
                fees_cents=values["fees"], currency="CNY", due_date=values["due_date"],
                days_past_due=values["days_past_due"], risk_tier=values["risk_tier"],
            ))
    return ImportReport(ok=True, rows_read=len(rows), borrowers_created=borrowers_created,
                        accounts_created=len(rows))
