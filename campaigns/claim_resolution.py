"""A person closes a dispute or a hardship claim: the ledger changes (Ledger.resolve_claim), the audit chain says
who closed it and how, and the borrower is placed in the strategy again at once, the reason in segment_changes.

    resolutions = ClaimResolutions(ledger, audit, segmenter, clock)   # or ClaimResolutions.from_settings(...)
    claim = resolutions.resolve(7, "rejected", "supervisor1", "statement shows the loan was drawn")

The console (bot.console.claims) and `python -m ledger resolve-claim` both come through here.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.audit import AuditTrail
from bot.audit_seal import AnchorFile, load_audit_key
from campaigns.segmenter import Segmenter
from campaigns.strategy import load_strategy
from compliance_filters.contact_policy import load_config as load_contact_policy
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords
from ledger.portfolio import Portfolio
from ledger.references import mask_reference
from ledger.repository import Ledger
from ledger.views import ClaimView

log = logging.getLogger(__name__)
AUDIT_CHANNEL = "console"  # where a supervisor's decision is made, as for a recording's playback
MAX_NOTE_CHARS = 1000


class ClaimResolutions:
    def __init__(self, ledger: Ledger, audit: AuditTrail, segmenter: Segmenter, clock: Callable[[], datetime]) -> None:
        self._ledger = ledger
        self._audit = audit
        self._segmenter = segmenter
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, sessions: sessionmaker[Session], ledger: Ledger) -> ClaimResolutions:
        """For the CLI: the audit key and anchor, the strategy and the contact policy, all read now."""
        key = load_audit_key(settings.audit)
        strategy = load_strategy(settings.campaigns.strategy_file,
                                 load_contact_policy(settings.compliance.contact_policy_file))
        return cls(ledger, AuditTrail(sessions, key, AnchorFile(settings.audit.anchor_file, key)),
                   Segmenter(strategy, Portfolio(sessions), CampaignRecords(sessions)),
                   lambda: settings.gateway.fixed_now or datetime.now(UTC))

    def resolve(self, claim_id: int, outcome: str, resolved_by: str, note: str = "") -> ClaimView:
        """Raises what Ledger.resolve_claim raises (nothing changed then); ValueError for a note over the limit."""
        if len(note) > MAX_NOTE_CHARS:
            raise ValueError(f"the note has at most {MAX_NOTE_CHARS} characters")
        now = self._clock()
        claim = self._ledger.resolve_claim(claim_id, outcome, resolved_by, note, at=now)
        event = f"{claim.kind} claim {claim.claim_id} {outcome} by {resolved_by}"
        self._audit.append(claim.conversation_id, claim.borrower_id, AUDIT_CHANNEL, "system",
                           f"{event}: {note}" if note else event, at=now)
        try:
            self._segmenter.place_now([claim.borrower_id], event, now)
        except Exception as error:  # recorded and audited; the worker's next tick places the borrower
            log.warning("claim %d resolved; placing %s again failed: %s", claim.claim_id,
                        mask_reference(claim.borrower_id), type(error).__name__)
        return claim
