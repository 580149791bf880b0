"""The action server's composition root. rasa-sdk imports this package when the server starts, so a
bad policy file or database URL stops the action server there, naming the file and key, instead of
failing on a borrower's turn."""
from __future__ import annotations

from dataclasses import dataclass

from compliance_filters.contact_policy import ContactPolicyConfig, load_config as load_contact_policy
from configuration.settings import Settings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.policy import load_policy
from ledger.repository import Ledger


@dataclass(frozen=True)
class ActionServices:
    ledger: Ledger
    contact_policy: ContactPolicyConfig


def build_action_services(settings: Settings) -> ActionServices:
    engine = make_engine(settings.ledger.url())
    create_schema(engine)
    return ActionServices(
        ledger=Ledger(make_session_factory(engine), load_policy(settings.ledger.policy_file)),
        contact_policy=load_contact_policy(settings.compliance.contact_policy_file),
    )


SERVICES = build_action_services(Settings())
