"""One campaign contact, start to finish: claim it, ask the contact policy, call or send, record what happened.

Fails closed: when the ledger cannot be written, nothing is sent (the claim comes first); when the contact policy
cannot be asked (Redis down) or answers no, nothing is sent and the contact is recorded as `error` or `refused`
with the reason. A contact is made at most once: the ledger's unique (borrower, contact key) row is the claim, and
a per-borrower Redis lock keeps two workers from talking to one borrower at the same moment (a callback and a
campaign contact, say).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from campaigns.dialer import CallRequest, Dialer, DialerBusy, DialerError
from campaigns.messenger import Invitation, Messenger, MessengerError, NoRecipient
from campaigns.recipients import DEMO_BORROWER, SMS_OPTED_OUT
from compliance_filters.contact_policy import ContactPolicy
from ledger.campaign_records import CampaignContactView, CampaignRecords, ContactPlan
from ledger.models import CAMPAIGN_CONTACT_STATUSES
from ledger.phones import e164
from ledger.references import mask_reference
from ledger.repository import Ledger
from monitoring import metrics

log = logging.getLogger(__name__)

LOCK_SECONDS = 120  # longer than any one contact takes to place; a dead worker's lock frees itself
# The strategy's script variant -> the messenger's purpose (an invitation names no debt either way).
MESSAGE_PURPOSES = {"reminder": "pre_due_reminder", "hardship": "overdue", "overdue_gentle": "overdue",
                    "overdue_firm": "overdue", "callback": "callback", "promise_due": "promise_due",
                    "instalment_due": "instalment_due"}
# ... and the dialer's: a call carries its segment's variant to the dialogue; a booked callback, which the borrower
# asked for, the gentle one.
CALL_SCRIPTS = {"callback": "overdue_gentle"}
# Messages go by WeChat where the borrower follows the lender's account, else by SMS.
MESSAGE_CHANNELS = ("wechat", "sms")


class Deferred(Exception):
    """No line was free: the contact stays claimable and the job is tried again later."""


@dataclass(frozen=True)
class ContactServices:
    records: CampaignRecords
    ledger: Ledger
    policy: ContactPolicy
    dialer: Dialer
    messenger: Messenger
    # (borrower id, the contact's attempt id) -> a signed link into a verified chat that is the contact's
    invitation_link: Callable[[str, str], str]
    redis: Any  # redis.asyncio client: the per-borrower lock
    clock: Callable[[], datetime]
    # Settings.demo: True only while no real carrier, SMS or WeChat provider is configured. Otherwise the made-up
    # borrowers ledger.seed wrote (real-format numbers) are refused, never dialled or texted. No default: a
    # composition root that forgot it must not fail open.
    demo_providers: bool


class Contactor:
    def __init__(self, services: ContactServices) -> None:
        self._s = services

    async def contact(self, plan: ContactPlan) -> CampaignContactView | None:
        """The contact as recorded, or None when someone else has (or is) making it."""
        lock = self._s.redis.lock(f"campaigns:borrower:{plan.borrower_id}", timeout=LOCK_SECONDS, blocking=False)
        if not await lock.acquire():
            return None
        try:
            recorded = await self._contact(plan)
        except Deferred:
            metrics.CONTACT_ATTEMPTS.labels(channel=_channel(plan.channel), outcome="deferred").inc()
            raise
        finally:
            await lock.release()
        if recorded is not None:
            _count(recorded)
        return recorded

    async def _contact(self, plan: ContactPlan) -> CampaignContactView | None:
        s = self._s
        if plan.campaign in await asyncio.to_thread(s.records.paused_campaigns):
            return None  # paused by a supervisor after the tick planned it
        if plan.channel == "call" and await s.dialer.free_lines() <= 0:
            raise Deferred(plan.contact_key)  # nothing claimed, nothing asked: the next tick plans it again
        claimed = await asyncio.to_thread(s.records.claim_contact, plan, s.clock())
        if claimed is None:
            return None
        attempt = claimed.attempt_id
        if not s.demo_providers and await asyncio.to_thread(self._demo_borrower, plan.borrower_id):
            return await self._finish(attempt, "refused", reason=DEMO_BORROWER)
        policy_channel = "voice" if plan.channel == "call" else "message"
        try:
            decision = await asyncio.to_thread(s.policy.may_contact, plan.borrower_id, policy_channel, s.clock(),
                                               account_id=plan.account_id, conversation_id=attempt)
        except Exception as error:  # Redis or the ledger is down: no contact without a policy's yes
            log.warning("contact policy unavailable (%s): contact not made", type(error).__name__)
            metrics.count_error("contact_policy_unavailable")
            return await self._finish(attempt, "error", reason="contact_policy_unavailable")
        if not decision.allowed:
            return await self._finish(attempt, "refused", reason=decision.reason)
        if plan.channel == "call":
            return await self._call(plan, attempt)
        return await self._message(plan, attempt)

    def _demo_borrower(self, borrower_id: str) -> bool:
        borrower = self._s.ledger.get_borrower(borrower_id)
        return borrower is not None and borrower.source == "demo"

    async def _call(self, plan: ContactPlan, attempt: str) -> CampaignContactView:
        s = self._s
        phone = e164(await asyncio.to_thread(s.ledger.contact_phone, plan.borrower_id))
        if phone is None:
            return await self._finish(attempt, "refused", reason="no_phone_number")
        try:
            placed = await s.dialer.place_call(CallRequest(attempt_id=attempt, borrower_id=plan.borrower_id, to_number=phone,
                                                           script=CALL_SCRIPTS.get(plan.script, plan.script)))
        except DialerBusy:
            await self._finish(attempt, "deferred", reason="no_free_line")
            raise Deferred(attempt) from None
        except DialerError as error:
            log.warning("call not placed for %s: %s", mask_reference(plan.borrower_id), type(error).__name__)
            metrics.count_error("dialer_failed")
            return await self._finish(attempt, "failed", reason=f"dialer: {error}")
        return await self._finish(attempt, "dialled", provider_id=placed.provider_call_id)

    async def _message(self, plan: ContactPlan, attempt: str) -> CampaignContactView:
        s = self._s
        borrower = await asyncio.to_thread(s.ledger.get_borrower, plan.borrower_id)
        link = await asyncio.to_thread(s.invitation_link, plan.borrower_id, attempt)
        purpose = MESSAGE_PURPOSES.get(plan.script, "overdue")
        nobody = "no_message_recipient"
        for channel in MESSAGE_CHANNELS:
            try:
                sent = await s.messenger.send(Invitation(borrower_id=plan.borrower_id, channel=channel,
                                                         language=borrower.language, purpose=purpose, link=link))
            except NoRecipient as refusal:
                if refusal.reason == SMS_OPTED_OUT:
                    nobody = SMS_OPTED_OUT  # the borrower's STOP (or the carrier's) is why: on the record as such
                continue
            except MessengerError as error:
                metrics.count_error("messenger_failed")
                return await self._finish(attempt, "failed", reason=f"{channel}: {error}")
            return await self._finish(attempt, "sent", reason=channel, provider_id=sent.provider_message_id)
        return await self._finish(attempt, "refused", reason=nobody)

    async def _finish(self, attempt: str, status: str, *, reason: str = "",
                      provider_id: str | None = None) -> CampaignContactView:
        return await asyncio.to_thread(self._s.records.finish_contact, attempt, status, self._s.clock(),
                                       reason=reason, provider_id=provider_id)


_STATUSES = frozenset(CAMPAIGN_CONTACT_STATUSES)


def _channel(channel: str) -> str:
    return metrics.bounded(channel, frozenset({"call", "message"}))


def _count(recorded: CampaignContactView) -> None:
    """The contact's end as recorded; a refusal's reason too (a failure's is a provider's free text: never a label)."""
    metrics.CONTACT_ATTEMPTS.labels(channel=_channel(recorded.channel),
                                    outcome=metrics.bounded(recorded.status, _STATUSES)).inc()
    if recorded.status == "refused":
        metrics.CONTACT_REFUSALS.labels(reason=metrics.bounded(recorded.reason)).inc()
