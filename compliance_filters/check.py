"""The outgoing-utterance check, called by bot.egress for every utterance.

Layers, in order: normalise (evasion) → rule hits (lexicon + regex, rules.yml) → excuses
(negation, anti-fraud quotation, borrower echo; negation.py) → the learned classifier, which may
add blocks, never overrules an excuse the rules made for the same category, and lifts a rule hit
only in a category rules.yml lets it lift, when its harm probability is below the calibrated lift
threshold (the law on 坐牢 stated, advice against 网贷: words of a topic, not a threat).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from compliance_filters.lexicon import Hit, Matcher
from compliance_filters.negation import (
    is_advice_against, is_borrower_report, is_condemned_conduct_of_others, is_fraud_warning, is_named_conduct,
    is_negated, is_quoted_mention, is_refuted_claim, is_reported_abuse, is_reported_speech,
    is_stated_with_court_process, strip_echo,
)
from compliance_filters.normalise import clauses as split_clauses, sentences
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
    """The learned classifier, or None when its module or model is absent."""
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
    """Categories the classifier blocks: known, not excused by the rules.

    A classifier with a harm regression (the packaged one) blocks when the probability that the
    utterance is harmful at all reaches the harm threshold; the block goes to the most probable
    category, and not at all when the rules excused that category (a negation, an anti-fraud
    quotation): the harm regression decides whether, the category regressions decide which. Below the
    harm threshold, a category of rules.yml classifier.may_confirm at its own calibrated threshold still
    blocks when the harm probability reaches the confirmation threshold (classifier.py says why), unless
    the rules excused it. One
    without (older bundles, test doubles) blocks each category at or above its own threshold. The
    thresholds are those calibrated in training, unless rules.yml sets one for all."""
    settings = rules.classifier
    if classifier is None or not settings.enabled:
        return []
    harm_threshold = getattr(classifier, "harm_threshold", None)
    try:
        if harm_threshold is not None:
            scores, harm = classifier.predict_with_harm(text)
        else:
            scores, harm = classifier.predict(text), None
    except Exception:
        log.exception("compliance classifier failed on one utterance; rules-only verdict")
        return []
    known = {
        category: float(p) for category, p in scores.items()
        if category in rules.categories and rules.categories[category].applies_when == "always"
    }
    if harm is not None:
        if not known:
            return []
        if harm < (settings.threshold if settings.threshold is not None else harm_threshold):
            # both regressions agreeing: a category at its own threshold, harm at the confirmation threshold
            if getattr(classifier, "confirm_threshold", None) is None:
                return []
            confirmed = [c for c in classifier.confirmed(known, harm)
                         if c in settings.may_confirm and c not in excused_categories]
            return [(max(confirmed, key=known.__getitem__), float(harm))] if confirmed else []
        category = max(known, key=known.__getitem__)
        return [] if category in excused_categories else [(category, float(harm))]
    return [
        (category, p) for category, p in known.items()
        if category not in excused_categories
        and p >= (settings.threshold if settings.threshold is not None else classifier.thresholds[category])
    ]


# A quoted act is a mention only when nobody is told it will happen to them: '威胁借款人“坐牢”' is,
# '你就等着“坐牢”吧' is not.
_ADDRESSED_BEFORE_QUOTE = re.compile(r"你|您|\byou\b|\byour\b")


# 你 and "you" beside a hit aim it at the borrower; the polite 您 of lawful bot speech does not ("限制您高消费需要法院判决").
_SECOND_PERSON = re.compile(r"你|\byou\b|\byour\b")
# How much of the clause around a hit the lift reads: a short threat with its subject and object.
_AROUND_COMPACT = 4
_AROUND_SPACED = 16


@dataclass(frozen=True)
class RuleHits:
    """What the rule layers found in one utterance: the text they read (the borrower's echo removed),
    each fired rule's first hit, and the rules that matched but were excused."""
    screened: str
    fired: dict[str, Hit]
    excused: dict[str, None]


def rule_hits(text: str, context: Mapping[str, Any], rules: RuleSet) -> RuleHits:
    active = {
        name for name, cat in rules.categories.items()
        if cat.applies_when == "always" or context.get("identity_verified") is not True
    }
    borrower_text = context.get("borrower_text")
    screened = strip_echo(text, borrower_text if isinstance(borrower_text, str) else None)
    clauses = split_clauses(screened)
    fraud_warning = is_fraud_warning(clauses)
    _, matcher, rule_index, rule_category, _ = _compiled(rules)
    fired: dict[str, Hit] = {}
    excused: dict[str, None] = {}
    for hit in matcher.hits(clauses, active):
        if hit.rule_id in fired:
            continue
        if _excused(hit, rule_index[hit.rule_id], clauses, fraud_warning, rule_category[hit.rule_id]):
            excused[hit.rule_id] = None
        else:
            fired[hit.rule_id] = hit
    return RuleHits(screened, fired, excused)


def lift_score(hits: RuleHits, rules: RuleSet, classifier: Any) -> float | None:
    """The harm probability the lift compares with its threshold, or None when a fired category may
    not be lifted. The highest over the sentence holding each fired hit, the hit with the few words
    before it and, apart, the hit with the few words after it. Not the whole utterance or clause:
    lawful words run on after a threat ('电话轰炸你理解您现在…'), punctuated or not, would dilute it."""
    rule_category = _compiled(rules)[3]
    categories = {rule_category[r] for r in hits.fired}
    if not categories or not categories <= set(rules.classifier.may_lift):
        return None
    if any(_SECOND_PERSON.search(side) for hit in hits.fired.values() for side in _sides(hit)):
        return None  # words aimed at the borrower ('电话轰炸你', 'arrest you') never merely name a topic
    all_sentences = sentences(hits.screened)
    parts = {part for hit in hits.fired.values()
             for part in (*_sides(hit), next((s for s in all_sentences if hit.clause.raw in s), hits.screened))}
    harms = [classifier.predict_with_harm(part)[1] for part in parts]
    return None if any(h is None for h in harms) else max(harms)


def lifted_by_classifier(hits: RuleHits, rules: RuleSet, classifier: Any | None) -> bool:
    """True when every fired category may be lifted and the lift score is below the classifier's lift threshold."""
    lift_threshold = getattr(classifier, "lift_threshold", None)
    if lift_threshold is None or not rules.classifier.enabled:
        return False
    try:
        score = lift_score(hits, rules, classifier)
    except Exception:
        log.exception("compliance classifier failed on one utterance; rules-only verdict")
        return False
    return score is not None and score < lift_threshold


def _sides(hit: Hit) -> tuple[str, str]:
    """The hit with the words before it, and the hit with the words after it."""
    reach = _AROUND_COMPACT if hit.view == "compact" else _AROUND_SPACED
    text = hit.view_text
    return text[max(0, hit.start - reach):hit.end], text[hit.start:hit.end + reach]


def _excused(hit: Hit, rule: Any, clauses: list, fraud_warning: bool, category: str = "") -> bool:
    if rule.negatable and is_negated(hit):
        return True
    if category == "inducing_borrowing" and rule.negatable and is_advice_against(hit, clauses):
        return True  # advising against borrowing is the lawful opposite of inducing it
    if category == "false_legal_consequences" and rule.negatable and is_stated_with_court_process(hit, clauses):
        return True  # the consequence with the court process it needs is the law stated, not a false threat
    if not rule.reportable:
        return False
    if rule.restatable and is_refuted_claim(hit, clauses):
        return True  # the claim is named to be denied
    if fraud_warning and is_reported_speech(hit, clauses):
        return True
    if rule.restatable:
        return (is_borrower_report(hit, clauses) or is_named_conduct(hit, clauses)
                or is_condemned_conduct_of_others(hit, clauses)
                or (is_quoted_mention(hit, clauses) and not _ADDRESSED_BEFORE_QUOTE.search(hit.view_text[:hit.start])))
    # Words harmful in themselves (insults): only someone else's abuse restated as wrong, or the
    # word quoted and explained. A threat in quotation marks is not excused by the quotes.
    return is_reported_abuse(hit, clauses) or is_quoted_mention(hit, clauses)


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
    _, _, _, rule_category, order = _compiled(rules)
    hits = rule_hits(text, context, rules)
    screened, excused = hits.screened, dict(hits.excused)
    fired: dict[str, None] = dict.fromkeys(hits.fired)
    if lifted_by_classifier(hits, rules, classifier):
        excused.update(fired)
        fired = {}
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
    return Verdict(
        allowed=False,
        categories=tuple(categories),
        rules=ordered_rules,
        replacement=_replacement(rules, next(iter(categories)), context.get("identity_verified") is True),
        excused=excused_ids,
    )


def _replacement(rules: RuleSet, first_category: str, identity_verified: bool) -> str:
    """The fired category's safe line; before verification always the verification category's, since other
    categories' lines may speak of repayment, which a third party must not hear either (GB/T 45251)."""
    if not identity_verified:
        for category in rules.categories.values():
            if category.applies_when == "identity_not_verified":
                return category.replacement
    return rules.categories[first_category].replacement
