"""Phone numbers as one comparable form (E.164), so a caller's number can be matched to the number on file
however the lender wrote it ("138 1234 5678", "+86-138-1234-5678", "+1 (202) 555-0143").

Numbers without a country code are read as mainland Chinese, the first market; numbers elsewhere are
written with theirs (+1 …). Each borrower's number is indexed in `borrower_phones` whenever a borrower row
is written (seed, CSV import, any ORM write), so finding a caller is one indexed query.
"""
from __future__ import annotations

import phonenumbers
from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session

from ledger.models import Borrower, BorrowerPhone

DEFAULT_REGION = "CN"


def e164(number: str | None) -> str | None:
    """The number in E.164 ("+8613812345678"), or None when it is not a possible phone number (empty,
    masked like "138****5210", letters)."""
    if not number or "*" in number:
        return None
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def borrowers_at(session: Session, caller_number: str) -> list[str]:
    """The borrowers whose number on file is this caller's number (none, one, or several sharing a line)."""
    normalised = e164(caller_number)
    if normalised is None:
        return []
    return list(session.scalars(select(BorrowerPhone.borrower_id).where(BorrowerPhone.e164 == normalised)
                                .order_by(BorrowerPhone.borrower_id)))


def index_missing(session: Session) -> int:
    """Indexes borrowers written before the index existed; returns how many. Cheap once all are indexed."""
    missing = session.execute(
        select(Borrower.borrower_id, Borrower.phone)
        .where(~Borrower.borrower_id.in_(select(BorrowerPhone.borrower_id)))).all()
    for borrower_id, phone in missing:
        session.add(BorrowerPhone(borrower_id=borrower_id, e164=e164(phone)))
    return len(missing)


@event.listens_for(Borrower, "after_insert")
def _index_new_borrower(_mapper: Mapper, connection: Connection, borrower: Borrower) -> None:
    _index_phone(connection, borrower)


@event.listens_for(Borrower, "after_update")
def _reindex_changed_number(_mapper: Mapper, connection: Connection, borrower: Borrower) -> None:
    if inspect(borrower).attrs.phone.history.has_changes():  # a pause or a name change leaves the index be
        _index_phone(connection, borrower)


def _index_phone(connection: Connection, borrower: Borrower) -> None:
    connection.execute(delete(BorrowerPhone).where(BorrowerPhone.borrower_id == borrower.borrower_id))
    connection.execute(insert(BorrowerPhone).values(borrower_id=borrower.borrower_id, e164=e164(borrower.phone)))
