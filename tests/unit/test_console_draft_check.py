"""What the console tells an agent about a draft: the rule that fired, why, and a lawful wording."""
from __future__ import annotations

from bot.console.draft_check import findings
from compliance_filters import Verdict, check
from compliance_filters.rules import default_rules

RULES = default_rules()


def test_a_rule_hit_is_explained_with_its_description_and_the_category_s_safe_wording():
    verdict = check("再不还钱就告诉你全家", {"identity_verified": True}, classifier=None)
    [finding] = findings(verdict, RULES)
    category = RULES.categories["third_party_disclosure"]
    assert finding["category"] == "third_party_disclosure"
    assert finding["why"] == category.description and finding["suggestion"] == category.replacement
    assert [rule["id"] for rule in finding["rules"]] == list(verdict.rules)
    assert all(rule["description"] == next(r.description for r in category.rules if r.id == rule["id"])
               for rule in finding["rules"])


def test_each_blocked_category_gets_its_own_finding_with_only_its_rules():
    verdict = Verdict(False, ("violence", "insult"), ("VIO-001", "CLF-insult"), "x")
    violence, insult = findings(verdict, RULES)
    assert [r["id"] for r in violence["rules"]] == ["VIO-001"]
    assert [r["id"] for r in insult["rules"]] == ["CLF-insult"]
    assert "classifier" in insult["rules"][0]["description"]
    assert insult["suggestion"] == RULES.categories["insult"].replacement


def test_every_suggested_wording_passes_the_filter():
    for name, category in RULES.categories.items():
        assert check(category.replacement, {"identity_verified": True}).allowed, name


def test_an_allowed_draft_has_no_findings():
    assert findings(check("请问您本周方便还款吗？", {"identity_verified": True}), RULES) == []
