"""Which actions reveal or act on debt details, and when they may run. Pure Python, shared by the
Rasa policies (Rasa's venv) and the tests (application venv)."""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

# Every action that states an amount, a date, a plan or a decision about the debt.
DISCLOSURE_ACTIONS = frozenset({
    "action_tell_balance",
    "action_pay_in_full",
    "promise_form",
    "action_promise_from_delay_request",
    "action_record_promise",
    "action_propose_plan",
    "action_accept_plan",
    "action_decline_plan",
    "action_restate_plan",
    "action_request_extension",
    "action_request_fee_waiver",
    "action_record_hardship",
    "action_record_paid_claim",
})


def mask_disclosures(
    probabilities: Sequence[float], action_names: Sequence[str], identity_verified: Optional[bool],
    disclosure_actions: Iterable[str] = DISCLOSURE_ACTIONS,
) -> list:
    """Zero the probability of every disclosure action unless identity is verified."""
    if identity_verified is True:
        return list(probabilities)
    blocked = set(disclosure_actions)
    return [0.0 if name in blocked else p for p, name in zip(probabilities, action_names)]
