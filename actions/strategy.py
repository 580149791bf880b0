"""What the collection strategy (campaigns/strategy.yml) means inside a conversation: a hardship claim or a
dispute places the borrower again at once, the plan action offers no more instalments than the borrower's
segment allows, and a call placed with the hardship script is a hardship conversation from its start."""
from __future__ import annotations

import logging

from rasa_sdk import Tracker

from actions.conversation_context import call_script, conversation_id, now
from actions.services import SERVICES

log = logging.getLogger(__name__)


def place_again(tracker: Tracker, borrower_id: str, event: str) -> None:
    """A failure here must not cost the borrower the conversation: the worker's next tick places them anyway."""
    try:
        SERVICES.segmenter.place_now([borrower_id], f"{event} in conversation {conversation_id(tracker)[:12]}",
                                     now(tracker))
    except Exception as error:  # logged by kind only: the message may carry borrower data
        log.warning("could not place the borrower again after %s: %s", event, type(error).__name__)


def offer_limit(borrower_id: str) -> int | None:
    """The most instalments the borrower's current segment lets the bot offer; None: the ledger policy alone."""
    placed = SERVICES.campaign_records.current_segments([borrower_id]).get(borrower_id)
    treatment = SERVICES.strategy.treatment_of(placed.segment) if placed else None
    return treatment.offer.max_periods if treatment else None


def hardship_case(tracker: Tracker) -> bool:
    """The borrower told us of hardship in this conversation, or the lender's dialer called them with the hardship
    script (an open hardship claim placed them in that segment): plans are then fee-free and led by the longest."""
    return bool(tracker.get_slot("hardship")) or call_script(tracker) == "hardship"
