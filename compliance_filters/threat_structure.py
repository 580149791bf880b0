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
"""
from __future__ import annotations

from functools import lru_cache
from itertools import combinations
import ahocorasick
import yaml

from compliance_filters.training_data import ROLES_PATH


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
    """The roles present in ``model_text`` (Simplified, lower case, spaces kept), in file order."""
    automaton, order = _automaton()
    found: set[str] = set()
    for end, (length, entries) in automaton.iter(model_text):
        start = end + 1 - length
        for role, word, prefix in entries:
            if role in found:
                continue
            if word and (
                (start > 0 and _is_word_char(model_text[start - 1]))
                or (not prefix and end + 1 < len(model_text) and _is_word_char(model_text[end + 1]))
            ):
                continue
            found.add(role)
    return [role for role in order if role in found]


def structure_features(model_text: str) -> list[str]:
    present = roles(model_text)
    return [f"s:{role}" for role in present] + [f"s:{a}+{b}" for a, b in combinations(present, 2)]
