"""Rasa policies that cannot predict a debt-disclosing action before identity is verified.

Every policy in config.yml is one of these, so no prediction path (rules, forms) can reach a disclosure action
while the slot `identity_verified` is not true. DisclosureGuard wraps any policy added later the same way.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from dialogue.disclosure import mask_disclosures


class DisclosureGuard:
    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None, **kwargs: Any,
    ) -> PolicyPrediction:
        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data=rule_only_data, **kwargs)
        prediction.probabilities = mask_disclosures(
            prediction.probabilities, domain.action_names_or_texts, tracker.get_slot("identity_verified")
        )
        return prediction


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class GuardedRulePolicy(DisclosureGuard, RulePolicy):
    pass
