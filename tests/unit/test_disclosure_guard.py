"""The dialogue-level guard: disclosure actions get zero probability until identity is verified."""
from __future__ import annotations

import inspect

import yaml

from dialogue.disclosure import DISCLOSURE_ACTIONS, mask_disclosures
from bot.launcher import ROOT

ACTIONS = ["action_listen", "action_tell_balance", "utter_greeting", "action_propose_plan", "promise_form"]
PROBS = [0.1, 0.9, 0.2, 0.8, 0.7]


def test_disclosure_actions_are_zeroed_while_unverified():
    for verified in (False, None):
        masked = mask_disclosures(PROBS, ACTIONS, verified)
        assert masked == [0.1, 0.0, 0.2, 0.0, 0.0]


def test_nothing_changes_once_verified():
    assert mask_disclosures(PROBS, ACTIONS, True) == PROBS


def test_every_guarded_action_exists_in_the_domain_and_every_ledger_disclosure_is_guarded():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    known = set(domain["actions"]) | set(domain["forms"])
    assert DISCLOSURE_ACTIONS <= known
    from actions.guarded import DisclosureAction
    import actions.account, actions.plans, actions.promises, actions.requests, actions.claims  # noqa: F401
    guarded_in_action_server = {
        cls().name() for cls in _subclasses(DisclosureAction) if not inspect.isabstract(cls)
    }
    assert guarded_in_action_server == DISCLOSURE_ACTIONS - {"promise_form"}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
