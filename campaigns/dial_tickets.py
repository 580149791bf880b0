"""What a call the dialer placed is for, carried in the addresses it gives the carrier (the answered-call webhook
and the status callback) and signed with the gateway's link key under a salt of its own: the gateway learns the
borrower, the attempt and the script from the ticket alone, never from a field anyone else could set.
A ticket is good for the longest call (COLLECTIONS_DIALER_MAX_CALL_SECONDS) and a little more."""
from __future__ import annotations

from dataclasses import dataclass

from bot.links import BorrowerLinks, InvalidLink

TICKET_PARAMETER = "ticket"
_TICKET_SALT = "collections.outbound-call"
_GRACE_SECONDS = 600  # status callbacks can come a little after the call ends


@dataclass(frozen=True)
class DialTicket:
    borrower_id: str
    attempt_id: str
    script: str


class DialTickets:
    def __init__(self, key: bytes, max_call_seconds: int) -> None:
        self._signer = BorrowerLinks(key, salt=_TICKET_SALT)
        self._hours = (max_call_seconds + _GRACE_SECONDS) / 3600

    def issue(self, ticket: DialTicket) -> str:
        return self._signer.issue_claims([ticket.borrower_id, ticket.attempt_id, ticket.script], self._hours)

    def admit(self, value: object) -> DialTicket | None:
        """The ticket a valid, unexpired value carries; None for a missing, forged, expired or malformed one."""
        try:
            claims = self._signer.admit_claims(value)
        except InvalidLink:
            return None
        return DialTicket(*claims) if len(claims) == 3 else None
