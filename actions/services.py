"""The action server's composition root. rasa-sdk imports this package when the server starts, so a
bad policy file or database URL stops the action server there, naming the file and key, instead of
failing on a borrower's turn."""
from __future__ import annotations

from dataclasses import dataclass

from campaigns.segmenter import Segmenter
from campaigns.strategy import Strategy, load_strategy
from compliance_filters.contact_policy import ContactPolicyConfig, load_config as load_contact_policy
from configuration.settings import Settings
from ledger.campaign_records import CampaignRecords
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.policy import load_policy
from ledger.portfolio import Portfolio
from ledger.repository import Ledger


@dataclass(frozen=True)
class ActionServices:
    ledger: Ledger
    contact_policy: ContactPolicyConfig
    strategy: Strategy
    campaign_records: CampaignRecords
    segmenter: Segmenter


def build_action_services(settings: Settings) -> ActionServices:
    engine = make_engine(settings.ledger.url())
    create_schema(engine)
    sessions = make_session_factory(engine)
    contact_policy = load_contact_policy(settings.compliance.contact_policy_file)
    strategy = load_strategy(settings.campaigns.strategy_file, contact_policy)
    records = CampaignRecords(sessions)
    return ActionServices(
        ledger=Ledger(sessions, load_policy(settings.ledger.policy_file)), contact_policy=contact_policy,
        strategy=strategy, campaign_records=records, segmenter=Segmenter(strategy, Portfolio(sessions), records),
    )


SERVICES = build_action_services(Settings())
