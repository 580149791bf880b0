"""The outgoing-utterance check, called by bot.egress for every utterance.

Layers, in order: normalise (evasion) → rule hits (lexicon + regex, rules.yml) → excuses
(negation, anti-fraud quotation, borrower echo; negation.py) → the learned classifier, which may
only add blocks, never lift one and never overrule an excuse the rules made for the same category.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Mapping

from compliance_filters.lexicon import Hit, Matcher
from compliance_filters.negation import (
    is_borrower_report, is_fraud_warning, is_negated, is_reported_speech, strip_echo,
)
from compliance_filters.normalise import clauses as split_clauses
from compliance_filters.rules import RuleSet, default_rules
from compliance_filters.verdict import Verdict

log = logging.getLogger(__name__)

CLASSIFIER_RULE_PREFIX = "CLF-"


_COMPILED: dict[int, tuple[RuleSet, Matcher, dict[str, Any], dict[str, str], list[str]]] = {}


def _compiled(rules: RuleSet) -> tuple[RuleSet, Matcher, dict[str, Any], dict[str, str], list[str]]:
    """Matcher, rule index, rule→category map and category order, built once per RuleSet."""
    entry = _COMPILED.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_COMPILED) >= 8:
            _COMPILED.clear()
        index = {rule.id: rule for cat in rules.categories.values() for rule in cat.rules}
        entry = (rules, Matcher(rules), index, rules.rule_category(), list(rules.categories))
        _COMPILED[id(rules)] = entry
    return entry


@lru_cache(maxsize=1)
def load_classifier_once() -> Any | None:
    """The other engineer's learned classifier, or None when its module or model is absent."""
    try:
        from compliance_filters.classifier import load_classifier  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return load_classifier()
    except Exception:  # a broken model must not take the egress down; the rules still apply
        log.exception("compliance classifier failed to load; continuing with rules only")
        return None


def classifier_blocks(
    text: str, rules: RuleSet, excused_categories: frozenset[str], classifier: Any | None
) -> list[tuple[str, float]]:
    """Categories the classifier blocks: known, at or above threshold, not excused by the rules."""
    settings = rules.classifier
    if classifier is None or not settings.enabled:
        return []
    try:
        scores = classifier.predict(text)
    except Exception:
        log.exception("compliance classifier failed on one utterance; rules-only verdict")
        return []
    return [
        (category, float(p))
        for category, p in scores.items()
        if category in rules.categories
        and rules.categories[category].applies_when == "always"
        and category not in excused_categories
        and float(p) >= settings.threshold
    ]


def _excused(hit: Hit, rule: Any, clauses: list, fraud_warning: bool) -> bool:
    if rule.negatable and is_negated(hit):
        return True
    if not rule.reportable:
        return False
    return (fraud_warning and is_reported_speech(hit, clauses)) or (
        rule.restatable and is_borrower_report(hit, clauses)
    )


def check(
    text: str,
    context: Mapping[str, Any] | None = None,
    *,
    rules: RuleSet | None = None,
    classifier: Any | None = ...,
) -> Verdict:
    """Check one outgoing utterance. ``rules``/``classifier`` are injectable for tests; by default
    the packaged rules.yml and the cached learned classifier (if present) are used."""
    context = context or {}
    rules = rules or default_rules()
    if classifier is ...:
        classifier = load_classifier_once()
    active = {
        name for name, cat in rules.categories.items()
        if cat.applies_when == "always" or context.get("identity_verified") is not True
    }
    borrower_text = context.get("borrower_text")
    screened = strip_echo(text, borrower_text if isinstance(borrower_text, str) else None)
    clauses = split_clauses(screened)
    fraud_warning = is_fraud_warning(clauses)

    _, matcher, rule_index, rule_category, order = _compiled(rules)
    fired: dict[str, None] = {}
    excused: dict[str, None] = {}
    for hit in matcher.hits(clauses, active):
        if hit.rule_id in fired:
            continue
        if _excused(hit, rule_index[hit.rule_id], clauses, fraud_warning):
            excused[hit.rule_id] = None
        else:
            fired[hit.rule_id] = None
    categories: dict[str, None] = {}
    for rule_id in sorted(fired, key=lambda r: order.index(rule_category[r])):
        categories[rule_category[rule_id]] = None
    excused_categories = frozenset(rule_category[r] for r in excused if r not in fired)
    for category, _p in classifier_blocks(screened, rules, excused_categories, classifier):
        if category not in categories:
            categories[category] = None
            fired[f"{CLASSIFIER_RULE_PREFIX}{category}"] = None
    excused_ids = tuple(r for r in excused if r not in fired)
    if not categories:
        return Verdict(allowed=True, excused=excused_ids)
    ordered_rules = tuple(sorted(fired, key=lambda r: list(categories).index(
        rule_category.get(r, r[len(CLASSIFIER_RULE_PREFIX):]))))
    first = next(iter(categories))
    return Verdict(
        allowed=False,
        categories=tuple(categories),
        rules=ordered_rules,
        replacement=rules.categories[first].replacement,
        excused=excused_ids,
    )
