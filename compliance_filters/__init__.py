"""Outgoing-utterance compliance checks. `check` is called by bot.egress for every utterance."""
from compliance_filters.verdict import Verdict
from compliance_filters.check import check
from compliance_filters.rules import load_rules

__all__ = ["Verdict", "check", "load_rules"]
