"""Find rule hits in normalised clauses — one job: matching, no judgement about negation or context.

All terms of all rules share one Aho-Corasick automaton. A key's script decides which view of a
clause its hits count on: Chinese (or mixed) keys on ``compact``, pure-ASCII keys on ``spaced`` at
word boundaries, pinyin keys ("|sha|bi|") on ``pinyin`` at syllable boundaries. Regex patterns run
on ``compact`` for zh rules and on ``spaced`` for en rules.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Literal

import ahocorasick

from compliance_filters.normalise import Clause, compact, spaced
from compliance_filters.rules import RuleSet

View = Literal["compact", "spaced"]
_ASCII_WORD = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class Hit:
    rule_id: str
    category: str
    clause: Clause
    view: View  # the view whose text ``start``/``end`` index (pinyin hits are mapped to compact)
    start: int
    end: int

    @property
    def view_text(self) -> str:
        return self.clause.compact if self.view == "compact" else self.clause.spaced

    @property
    def text(self) -> str:
        return self.view_text[self.start:self.end]


@dataclass(frozen=True)
class _Entry:
    rule_id: str
    category: str
    kind: Literal["cjk", "latin", "pinyin"]


def _latin_key(term: str) -> str:
    return spaced(term)


class Matcher:
    """Compiled form of a RuleSet."""

    def __init__(self, rules: RuleSet):
        self.rules = rules
        keys: dict[str, list[_Entry]] = {}
        self._patterns: list[tuple[re.Pattern[str], View, str, str]] = []
        for name, category in rules.categories.items():
            for rule in category.rules:
                for term in rule.terms:
                    if term.isascii():
                        key, kind = _latin_key(term), "latin"
                    else:
                        key, kind = compact(term), "cjk"
                    keys.setdefault(key, []).append(_Entry(rule.id, name, kind))
                for syllables in rule.pinyin:
                    key = "|" + "|".join(syllables.lower().split()) + "|"
                    keys.setdefault(key, []).append(_Entry(rule.id, name, "pinyin"))
                    # typed-out pinyin ("da si ni", "shabi") is Latin text: match it as words too
                    for latin in (" ".join(syllables.lower().split()), "".join(syllables.lower().split())):
                        keys.setdefault(latin, []).append(_Entry(rule.id, name, "latin"))
                for pattern in rule.patterns:
                    compiled = re.compile(pattern)
                    if "zh" in rule.languages:
                        self._patterns.append((compiled, "compact", rule.id, name))
                    if "en" in rule.languages:
                        self._patterns.append((compiled, "spaced", rule.id, name))
        self._automaton = ahocorasick.Automaton()
        for key, entries in keys.items():
            self._automaton.add_word(key, (key, tuple(entries)))
        self._automaton.make_automaton()

    def hits(self, clauses: Iterable[Clause], categories: set[str] | None = None) -> Iterator[Hit]:
        """Every hit in every clause, optionally only for ``categories``."""
        for clause in clauses:
            yield from self._term_hits(clause, categories)
            for pattern, view, rule_id, category in self._patterns:
                if categories is not None and category not in categories:
                    continue
                text = clause.compact if view == "compact" else clause.spaced
                for m in pattern.finditer(text):
                    if m.end() > m.start():
                        yield Hit(rule_id, category, clause, view, m.start(), m.end())

    def _term_hits(self, clause: Clause, categories: set[str] | None) -> Iterator[Hit]:
        def wanted(entry: _Entry) -> bool:
            return categories is None or entry.category in categories

        for end, (key, entries) in self._automaton.iter(clause.compact):
            for entry in entries:
                if entry.kind == "cjk" and wanted(entry):
                    yield Hit(entry.rule_id, entry.category, clause, "compact", end + 1 - len(key), end + 1)
        spaced = clause.spaced
        for end, (key, entries) in self._automaton.iter(spaced):
            start = end + 1 - len(key)
            if (start > 0 and _ASCII_WORD.match(spaced[start - 1])) or (
                end + 1 < len(spaced) and _ASCII_WORD.match(spaced[end + 1])
            ):
                continue
            for entry in entries:
                if entry.kind == "latin" and wanted(entry):
                    yield Hit(entry.rule_id, entry.category, clause, "spaced", start, end + 1)
        if clause.has_cjk:
            pinyin = clause.pinyin
            for end, (key, entries) in self._automaton.iter(pinyin):
                start = end + 1 - len(key)
                for entry in entries:
                    if entry.kind == "pinyin" and wanted(entry):
                        offset = clause.pinyin_offset(start)
                        length = key.count("|") - 1
                        yield Hit(entry.rule_id, entry.category, clause, "compact", offset, offset + length)
