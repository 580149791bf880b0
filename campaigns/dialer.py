"""The dialer the campaign worker places calls through, whatever carrier is behind it.

    placed = await dialer.place_call(CallRequest(attempt_id, borrower_id, "+8613800015210", "overdue_gentle"))

The attempt id is the call's conversation id too (ledger contact attempts, transcript, audit), so it has the
form of one: 8-64 letters, digits, _ or - (a uuid4 hex). The outcome arrives later, from the carrier's status
callbacks to the gateway (bot.channels.outbound_call), as ledger contact attempts under that id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, get_args

from campaigns.strategy import Script

# The strategy's script variants: the call carries its variant to the dialogue (turn metadata), which words the
# reason for the call after verification by it (actions.account.balance_stage).
SCRIPTS: tuple[str, ...] = get_args(Script)
ATTEMPT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
BORROWER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")  # the carrier's id of a call (Twilio's CallSid)


class DialerError(Exception):
    """The call was not placed (the carrier refused or could not be reached); nothing is ringing."""


class DialerBusy(DialerError):
    """Every call slot is taken (COLLECTIONS_DIALER_MAX_CONCURRENT_CALLS): try again when one frees."""


@dataclass(frozen=True)
class CallRequest:
    attempt_id: str
    borrower_id: str
    to_number: str  # E.164
    script: Script

    def __post_init__(self) -> None:
        if not isinstance(self.attempt_id, str) or not ATTEMPT_ID.match(self.attempt_id):
            raise ValueError("attempt_id is 8-64 letters, digits, _ or - (it becomes the call's conversation id)")
        if not isinstance(self.borrower_id, str) or not BORROWER_ID.match(self.borrower_id):
            raise ValueError("borrower_id is 1-64 letters, digits, _ or -")
        if not isinstance(self.to_number, str) or not E164.match(self.to_number):
            raise ValueError("to_number must be E.164, e.g. +8613800015210")
        if self.script not in SCRIPTS:
            raise ValueError(f"script must be one of {SCRIPTS}")


@dataclass(frozen=True)
class CallPlaced:
    provider_call_id: str  # the carrier's id of the call (Twilio's CallSid)


class Dialer(Protocol):
    async def place_call(self, request: CallRequest) -> CallPlaced:
        """Starts the call and returns once the carrier has taken it; DialerBusy or DialerError otherwise."""
        ...

    async def free_lines(self) -> int:
        """Calls that could start now (the pacing limit less the calls up): the worker asks before it claims a
        call, so a full set of lines costs no claim, no policy decision and no record."""
        ...


class NoCarrier:
    """The dialer while SMS or WeChat is real but no carrier is configured: the demo phone is off (its page would
    ring real borrowers' calls on the public gateway), so a call is not placed and the attempt says why."""

    async def free_lines(self) -> int:
        return 1  # the attempt is claimed and recorded as failed, with the reason, not deferred unseen

    async def place_call(self, request: CallRequest) -> CallPlaced:
        raise DialerError("no carrier configured (COLLECTIONS_DIALER_ACCOUNT_SID, COLLECTIONS_DIALER_FROM_NUMBER)")


class LiveCalls(Protocol):
    """The carrier's hold on a call already up (a handoff transfers it to a person: bot.channels.call_transfer)."""

    async def redirect(self, provider_call_id: str, twiml: str) -> None:
        """Replaces what the live call does with `twiml` (which ends its media stream); returns once the carrier has
        accepted it. DialerError when it refused or could not be reached: the call goes on as it was."""
        ...
