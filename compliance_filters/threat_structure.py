"""The structure of a collection threat, as features for the classifier — one job: tag the roles a
sentence fills, not judge it.

A threat has a shape more stable than its words: a **condition** ("再不还", "unless you pay"), a
**harm** to body, property, family, job, reputation or privacy, and **someone who acts** ("我们",
"找人", "our guys"). A lawful line about the same topic has another shape: a **negation** or a
**protective frame** (报警, 违法, 保密, "you can report it"), a **fact** about the account or the
law, or the borrower's own report restated. Each role is a small lexicon (threat_roles.yml);
``structure_features`` returns the roles present plus every pair of them ("s:cond+harm_body",
"s:negation+job"), so a linear model can weigh combinations it has never seen written out: a veiled
"accident" on the way home shares ``harm_body+time_place`` with threats it was trained on, not its
characters. One Aho-Corasick pass finds every role, so this costs microseconds.

An English role word in a negation's scope ("you have *nothing* outstanding *right now*", "*no one* will
*hurt* you"), or a Chinese one right after its negator ("我不清楚", "不会打扰"), fills the role negated,
``~watch`` / ``~harm_body``: the words of a promise not to act, or of a denial, are not the shape of a
threat (the English scope is the classifier's ``w:~`` words').
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import combinations
from typing import Iterator

import ahocorasick
import yaml

from compliance_filters.training_data import ROLES_PATH


_ENGLISH_WORD_OR_CLAUSE_END = re.compile(r"[a-z][a-z']*|[,.;:!?，。；：！？\n]")
_NEGATOR = frozenset({"not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "cannot"})
# A condition, a contrast or a new speaker ends the scope: "we won't call your boss *if* you pay",
# "if you don't pay *we* will call your boss".
_SCOPE_END = frozenset({"but", "unless", "if", "or", "otherwise", "until", "except", "and", "so", "then",
                        "we", "we'll", "i", "i'll", "they", "they'll", "someone", "our"})


# Who is spoken to, the negator itself, and a condition (再不还, "if you don't") are the same inside a
# negation's scope.
_UNSCOPED_ROLES = frozenset({"you", "negation", "cond"})
# A Chinese role word right after a negator: 不清楚, 不会打, 没有曝光, 从未联系. Adjacent only: Chinese has no
# word boundaries to end a scope, and '不还就打你' must keep its harm.
_NEGATED_BEFORE_ZH = re.compile(r"(不|没|没有|未|不会|绝不|从不|从未|从来不|不能|不得|不再)$")


def english_scope(model_text: str) -> Iterator[tuple[re.Match[str], bool]]:
    """Each English word of ``model_text`` with True while it lies after a negator in its clause."""
    negated = False
    for token in _ENGLISH_WORD_OR_CLAUSE_END.finditer(model_text):
        word = token.group()
        if not word[0].isalpha():
            negated = False  # a clause ends
            continue
        if word in _SCOPE_END:
            negated = False
        yield token, negated
        if word in _NEGATOR or word.endswith("n't"):
            negated = True


def _is_word_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "'")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, tuple[str, ...]]:
    raw = yaml.safe_load(ROLES_PATH.read_text(encoding="utf-8"))
    return {role: tuple(str(entry).lower() for entry in entries) for role, entries in raw.items()}


@lru_cache(maxsize=1)
def _automaton() -> tuple[ahocorasick.Automaton, tuple[str, ...]]:
    """Key → [(role, whole_word, prefix)]; English keys are checked at word boundaries."""
    keys: dict[str, list[tuple[str, bool, bool]]] = {}
    for role, entries in lexicon().items():
        for entry in entries:
            prefix = entry.endswith("*")
            key = entry.rstrip("*")
            keys.setdefault(key, []).append((role, key.isascii() and key[:1].isalpha(), prefix))
    automaton = ahocorasick.Automaton()
    for key, entries in keys.items():
        automaton.add_word(key, (len(key), tuple(entries)))
    automaton.make_automaton()
    return automaton, tuple(lexicon())


def roles(model_text: str) -> list[str]:
    """The roles present in ``model_text`` (Simplified, lower case, spaces kept), in file order; an
    English role word in a negation's scope fills "~role" instead."""
    automaton, order = _automaton()
    negated_starts: set[int] | None = None  # computed on the first English role word
    found: set[str] = set()
    for end, (length, entries) in automaton.iter(model_text):
        start = end + 1 - length
        for role, word, prefix in entries:
            if word and (
                (start > 0 and _is_word_char(model_text[start - 1]))
                or (not prefix and end + 1 < len(model_text) and _is_word_char(model_text[end + 1]))
            ):
                continue
            if role in _UNSCOPED_ROLES:
                pass
            elif word:
                if negated_starts is None:
                    negated_starts = {token.start() for token, negated in english_scope(model_text) if negated}
                if start in negated_starts:
                    role = f"~{role}"
            elif _NEGATED_BEFORE_ZH.search(model_text, max(0, start - 3), start):
                role = f"~{role}"
            found.add(role)
    return [name for role in order for name in (role, f"~{role}") if name in found]


def structure_features(model_text: str) -> list[str]:
    present = roles(model_text)
    return [f"s:{role}" for role in present] + [f"s:{a}+{b}" for a, b in combinations(present, 2)]
