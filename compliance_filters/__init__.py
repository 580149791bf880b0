"""Outgoing-utterance compliance checks. `check` is called by bot.egress for every utterance."""
from compliance_filters.verdict import Verdict
from compliance_filters.check import check

__all__ = ["Verdict", "check"]
