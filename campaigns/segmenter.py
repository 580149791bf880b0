"""Places borrowers in the strategy's segments and records every move with its reason.

    segmenter = Segmenter(strategy, Portfolio(sessions), CampaignRecords(sessions))
    segmenter.place_all(now)                                   # the worker, each tick: everyone
    segmenter.place_now(["B000001"], "dispute recorded in conv-1", now)   # at once, after an event
    segmenter.place_after_payments([("B000001", "P-1")], now)              # "payment P-1 received; …"

The event's words come first in the reason ("payment P-1 received; days past due 12, …"), so the history says what
moved the borrower and what the borrower looked like then.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from campaigns.planner import placement_reason
from campaigns.strategy import Placement, Strategy
from ledger.campaign_records import CampaignRecords
from ledger.portfolio import BorrowerFacts, Portfolio


CLOSED_SEGMENT = "closed"


class Segmenter:
    def __init__(self, strategy: Strategy, portfolio: Portfolio, records: CampaignRecords) -> None:
        self.strategy = strategy
        self._portfolio = portfolio
        self._records = records

    def place_all(self, now: datetime) -> list[tuple[BorrowerFacts, Placement]]:
        return self._place(self._portfolio.facts(now), None, "", now)

    def placements(self, now: datetime) -> list[tuple[BorrowerFacts, Placement]]:
        """Where everyone would be placed now, recording nothing (the console's "due now")."""
        return [(borrower, self.strategy.place(borrower)) for borrower in self._portfolio.facts(now)]

    def place_now(self, borrower_ids: Iterable[str], event: str, now: datetime) -> list[tuple[BorrowerFacts, Placement]]:
        wanted = list(borrower_ids)
        return self._place(self._portfolio.facts(now, wanted), wanted, event, now)

    def place_after_payments(self, paid: Iterable[tuple[str, str]], now: datetime) -> None:
        """(borrower id, payment id) of payments just recorded, by the payments API or a CSV import: each borrower is
        placed again at once (a settled account leaves the strategy), the reason naming their payments."""
        events: dict[str, list[str]] = defaultdict(list)
        for borrower_id, payment_id in paid:
            events[borrower_id].append(f"payment {payment_id} received")
        for borrower_id, received in events.items():
            self.place_now([borrower_id], "; ".join(received), now)

    def _place(self, facts: list[BorrowerFacts], wanted: list[str] | None, event: str,
               now: datetime) -> list[tuple[BorrowerFacts, Placement]]:
        current = self._records.current_segments(wanted)
        # Nothing left to collect (settled, sold, written off): the borrower leaves the strategy, on the record.
        still_open = {borrower.borrower_id for borrower in facts}
        for borrower_id, known in current.items():
            if borrower_id not in still_open and known.segment != CLOSED_SEGMENT:
                self._records.place(borrower_id, known.account_id, CLOSED_SEGMENT,
                                    f"{event}; nothing left to collect" if event else "nothing left to collect", now)
        placed = []
        for borrower in facts:
            placement = self.strategy.place(borrower)
            known = current.get(borrower.borrower_id)
            if known is None or known.segment != placement.segment or known.account_id != borrower.account_id:
                reason = placement_reason(borrower)
                self._records.place(borrower.borrower_id, borrower.account_id, placement.segment,
                                    f"{event}; {reason}" if event else reason, now)
            placed.append((borrower, placement))
        return placed
