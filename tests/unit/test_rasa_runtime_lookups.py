"""rasa_runtime's rule lookup and event classes answer exactly as Rasa's own, for less work: the same rules for
conversations of every length against rules of one to three states (the trained model's lengths), with no rule
checked against more states than it has; the same event class for every event type name, and Rasa's
default or error for a name no class has. Runs in Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

LOOKUPS = r"""
import json, random
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.events import Event, SlotSet
from rasa_runtime import event_types, rule_lookup

random.seed(7)
INTENTS, ACTIONS, SLOTS = ["affirm", "deny", "inform", "greet"], ["action_listen", "utter_ask", "verification_form"], ["a", "b"]

def state(first=False):
    state = {"user": {"intent": random.choice(INTENTS)}, "slots": {random.choice(SLOTS): (1.0,)}}
    if not first:
        state["prev_action"] = {"action_name": random.choice(ACTIONS)}
    if random.random() < 0.3:
        state["active_loop"] = {"name": random.choice(["verification_form", "should_not_be_set"])}
    return state

def rule():
    length = random.randint(1, 3)
    return [state(first=(index == 0 and random.random() < 0.2)) for index in range(length)]

lookup = {json.dumps(rule(), sort_keys=True): random.choice(ACTIONS) for _ in range(150)}
policy = RulePolicy.__new__(RulePolicy)  # the lookup uses no trained state but the rules passed to it
rasa_possible_keys = RulePolicy._get_possible_keys
rule_lookup.install()
checks = []
rasa_is_rule_applicable = RulePolicy._is_rule_applicable
RulePolicy._is_rule_applicable = lambda self, key, index, state: (
    checks.append(index >= len(json.loads(key))) or rasa_is_rule_applicable(self, key, index, state))
same, matched, checks_that_cannot_fail = True, 0, 0
for length in (1, 2, 3, 5, 20, 60):
    for _ in range(40):
        states = [state(first=(index == 0)) for index in range(length)]
        # the last states of some conversations are a rule's, so some rules match
        if random.random() < 0.5:
            chosen = json.loads(random.choice(list(lookup)))
            states[-len(chosen):] = chosen[-length:]
        expected = rasa_possible_keys(policy, lookup, states)
        checks.clear()
        found = policy._get_possible_keys(lookup, states)
        checks_that_cannot_fail += sum(checks)
        same, matched = same and found == expected, matched + bool(expected)
print(json.dumps({"same rules": same, "matched": matched, "checks that cannot fail": checks_that_cannot_fail}))

names = sorted({cls.type_name for cls in __import__("rasa.shared.utils.common").shared.utils.common.all_subclasses(Event)})
rasa_classes = {name: Event.resolve_by_type(name) for name in names}
event_types.install()
ours = {name: Event.resolve_by_type(name) for name in names}
twice = {name: Event.resolve_by_type(name) for name in names}
try:
    Event.resolve_by_type("no_such_event")
    unknown = "no error"
except ValueError as error:
    unknown = str(error)
print(json.dumps({"same classes": ours == rasa_classes == twice, "names": len(names),
                  "default": Event.resolve_by_type("no_such_event", SlotSet) is SlotSet,
                  "unknown": unknown, "topic": Event.resolve_by_type("topic") is None}))
"""


def test_the_rule_lookup_and_the_event_classes_answer_as_rasa_does():
    rules, events = run_in_rasa(LOOKUPS, results=2)
    assert rules["same rules"] and rules["matched"] >= 50
    # no rule is checked against a state before its own first one (Rasa's own lookup checks every rule it kept
    # against every state back to the conversation's start)
    assert rules["checks that cannot fail"] == 0
    assert events["same classes"] and events["names"] > 20
    assert events["default"] and events["topic"]
    assert events["unknown"] == "Unknown event name 'no_such_event'."
