"""Sanity checks for the NLU training data (data/nlu/*.yml) and the held-out set
(tests/nlu_holdout/*.yml).

1. every intent the bot relies on exists with enough training examples (and a held-out set);
2. no example text (annotations stripped, script/punctuation/case normalised) appears under
   two intents, twice, or in both training and holdout;
3. every inline entity annotation ``[text](entity)`` starts and ends on a jieba token
   boundary, using the project's user dictionary (otherwise Rasa drops or misaligns it).

Run: ``.venv/bin/python -m pytest tests/unit/test_nlu_data.py -q``
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAIN_DIR = ROOT / "data" / "nlu"
HOLDOUT_DIR = ROOT / "tests" / "nlu_holdout"
USERDICT = ROOT / "nlu" / "jieba_dictionary" / "jieba_userdict.txt"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REQUIRED_INTENTS = (
    "greet",
    "affirm",
    "deny",
    "confirm_identity",
    "wrong_person",
    "provide_id_digits",
    "refuse_verification",
    "ask_balance",
    "pay_in_full",
    "promise_to_pay",
    "request_instalment",
    "request_extension",
    "request_fee_waiver",
    "hardship",
    "dispute",
    "already_paid",
    "busy_callback",
    "stop_contact",
    "ask_who_are_you",
    "ask_how_to_pay",
    "abuse",
    "distress",
    "request_human",
    "inform",
    "goodbye",
    "out_of_scope",
    "check_hearing",
    "ask_repeat",
    "ask_to_wait",
    "complain_contact",
)
ENTITIES = {"amount", "date", "periods", "id_last4"}
MIN_TRAIN_EXAMPLES = 40
MIN_HOLDOUT_EXAMPLES = 8

# `[text](entity)`; also tolerates the `[text]{"entity": "x", ...}` form.
ANNOTATION = re.compile(
    r"\[(?P<text>[^\[\]]+)\]"
    r"(?:\((?P<name>[^()]+)\)|\{(?P<json>[^{}]*)\})"
)
JSON_ENTITY = re.compile(r'"entity"\s*:\s*"(?P<name>[^"]+)"')


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    value: str


@dataclass
class Example:
    raw: str
    text: str
    intent: str
    source: str
    spans: list[Span] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.source} [{self.intent}] {self.raw!r}"


def parse_example(raw: str, intent: str, source: str) -> Example:
    """Strip inline annotations and record the character span of each entity."""
    plain: list[str] = []
    spans: list[Span] = []
    cursor = 0
    length = 0
    for match in ANNOTATION.finditer(raw):
        before = raw[cursor:match.start()]
        plain.append(before)
        length += len(before)
        value = match.group("text")
        name = match.group("name")
        if name is None:
            json_name = JSON_ENTITY.search(match.group("json") or "")
            name = json_name.group("name") if json_name else "?"
        name = name.split(":")[0].strip()  # `[x](entity:synonym)` shorthand
        spans.append(Span(length, length + len(value), name, value))
        plain.append(value)
        length += len(value)
        cursor = match.end()
    plain.append(raw[cursor:])
    return Example(raw=raw, text="".join(plain), intent=intent, source=source, spans=spans)


def load_examples(directory: Path) -> list[Example]:
    examples: list[Example] = []
    for path in sorted(directory.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        source = str(path.relative_to(ROOT))
        for item in document.get("nlu") or []:
            intent = item.get("intent")
            if not intent:
                continue  # synonym / lookup / regex sections
            block = item.get("examples") or ""
            for line in block.splitlines():
                line = line.strip()
                if not line:
                    continue
                assert line.startswith("- "), f"{source} [{intent}] malformed line {line!r}"
                examples.append(parse_example(line[2:].strip(), intent, source))
    return examples


@lru_cache(maxsize=1)
def training_examples() -> tuple[Example, ...]:
    return tuple(load_examples(TRAIN_DIR))


@lru_cache(maxsize=1)
def holdout_examples() -> tuple[Example, ...]:
    return tuple(load_examples(HOLDOUT_DIR))


# ----------------------------------------------------------------------------------------
# Normalisation and tokenisation (mirrors the NLU pipeline as far as it exists)
# ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _to_simplified() -> Callable[[str], str]:
    # No fallback: a normaliser that silently stopped importing would let Traditional-script copies of
    # training examples into the holdout unnoticed.
    from chinese_text import to_simplified

    return to_simplified


def dedup_key(text: str) -> str:
    """Example identity for duplicate checks: simplified script, case-folded, and without
    whitespace, punctuation or symbols ('喂，哪位？' == '喂哪位')."""
    simplified = _to_simplified()(text).casefold()
    return "".join(
        ch for ch in simplified if not ch.isspace() and unicodedata.category(ch)[0] not in "PS"
    )


@lru_cache(maxsize=1)
def _tokenizer() -> Callable[[str], list[str]]:
    """The project's tokenize() if nlu/tokenization.py exists, else jieba + user dict."""
    try:
        from nlu import tokenization  # type: ignore[attr-defined]
    except ImportError:
        tokenization = None
    if tokenization is not None and hasattr(tokenization, "tokenize"):
        loader = getattr(tokenization, "load_jieba_userdict", None)
        if callable(loader):
            loader()
        return tokenization.tokenize

    import jieba

    jieba.setLogLevel(60)
    if USERDICT.exists():
        jieba.load_userdict(str(USERDICT))
    return lambda text: [word for word, _start, _end in jieba.tokenize(text)]


def token_boundaries(text: str) -> set[int]:
    """Character offsets where a token starts or ends. The pipeline converts Traditional →
    Simplified before tokenising, so tokenise the converted text when it is length-preserving."""
    converted = _to_simplified()(text)
    if len(converted) != len(text):
        converted = text
    boundaries = {0, len(converted)}
    position = 0
    for token in _tokenizer()(converted):
        found = converted.find(token, position)
        if found < 0:  # tokenizer rewrote the token; fall back to running length
            found = position
        boundaries.add(found)
        position = found + len(token)
        boundaries.add(position)
    return boundaries


# ----------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------


def test_files_declare_rasa_3_format() -> None:
    paths = sorted(TRAIN_DIR.rglob("*.yml")) + sorted(HOLDOUT_DIR.rglob("*.yml"))
    assert paths, "no NLU yaml files found"
    for path in paths:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict), path
        assert str(document.get("version")) == "3.1", f"{path}: version must be \"3.1\""
        assert isinstance(document.get("nlu"), list), f"{path}: missing nlu: list"


@pytest.mark.parametrize("intent", REQUIRED_INTENTS)
def test_intent_has_enough_training_examples(intent: str) -> None:
    count = sum(1 for example in training_examples() if example.intent == intent)
    assert count >= MIN_TRAIN_EXAMPLES, f"{intent}: {count} training examples"


@pytest.mark.parametrize("intent", REQUIRED_INTENTS)
def test_intent_has_holdout_examples(intent: str) -> None:
    count = sum(1 for example in holdout_examples() if example.intent == intent)
    assert count >= MIN_HOLDOUT_EXAMPLES, f"{intent}: {count} holdout examples"


def test_no_unknown_intents() -> None:
    known = set(REQUIRED_INTENTS)
    unknown = {e.intent for e in training_examples() + holdout_examples()} - known
    assert not unknown, f"intents not in REQUIRED_INTENTS: {sorted(unknown)}"


def test_no_duplicate_examples_within_training() -> None:
    seen: dict[str, Example] = {}
    clashes: list[str] = []
    for example in training_examples():
        key = dedup_key(example.text)
        assert key, f"empty example: {example.where}"
        if key in seen:
            clashes.append(f"{seen[key].where}  <->  {example.where}")
        else:
            seen[key] = example
    assert not clashes, "duplicate training examples:\n" + "\n".join(clashes)


def test_no_duplicate_examples_within_holdout() -> None:
    seen: dict[str, Example] = {}
    clashes: list[str] = []
    for example in holdout_examples():
        key = dedup_key(example.text)
        if key in seen:
            clashes.append(f"{seen[key].where}  <->  {example.where}")
        else:
            seen[key] = example
    assert not clashes, "duplicate holdout examples:\n" + "\n".join(clashes)


def test_holdout_does_not_overlap_training() -> None:
    train = {dedup_key(e.text): e for e in training_examples()}
    leaks = [
        f"{e.where}  <->  {train[dedup_key(e.text)].where}"
        for e in holdout_examples()
        if dedup_key(e.text) in train
    ]
    assert not leaks, "holdout examples also in training:\n" + "\n".join(leaks)


# Near duplicates: the holdout measures how the model does on wording it never saw, so an example that is
# the same as a training example of its intent but for a number or a particle measures recall instead.
NEAR_DUPLICATE_SIMILARITY = 80  # rapidfuzz ratio, 0-100, after dedup_key and with numbers masked
_NUMBER = re.compile(r"[0-9０-９]+|[零〇一二两三四五六七八九十百千万]{2,}")


def near_duplicate_key(text: str) -> str:
    """dedup_key with every number (digits, or two or more Chinese numerals) as one placeholder:
    '25号我还1500元' and '10号我还4000元' are the same sentence."""
    return _NUMBER.sub("#", dedup_key(text))


def test_holdout_has_no_near_duplicates_of_same_intent_training_examples() -> None:
    from rapidfuzz import fuzz, process

    train_by_intent: dict[str, list[Example]] = {}
    for example in training_examples():
        train_by_intent.setdefault(example.intent, []).append(example)
    leaks = []
    for example in holdout_examples():
        candidates = train_by_intent.get(example.intent, [])
        match = process.extractOne(near_duplicate_key(example.text),
                                   [near_duplicate_key(t.text) for t in candidates], scorer=fuzz.ratio)
        if match and match[1] >= NEAR_DUPLICATE_SIMILARITY:
            leaks.append(f"{match[1]:.0f}  {example.where}  ~  {candidates[match[2]].where}")
    assert not leaks, (f"holdout examples at least {NEAR_DUPLICATE_SIMILARITY}% similar to a training example "
                       "of the same intent (rewrite them apart from the training data):\n" + "\n".join(leaks))


def test_near_duplicate_check_catches_a_number_swap_and_a_particle() -> None:
    from rapidfuzz import fuzz

    assert fuzz.ratio(near_duplicate_key("25号我还1500元"), near_duplicate_key("10号我还4000元")) == 100
    assert fuzz.ratio(near_duplicate_key("可以啊"), near_duplicate_key("可以")) >= NEAR_DUPLICATE_SIMILARITY
    assert fuzz.ratio(near_duplicate_key("这笔借款跟我没有关系"),
                      near_duplicate_key("这钱不是我借的")) < NEAR_DUPLICATE_SIMILARITY


def test_entity_names_are_known() -> None:
    bad = [
        f"{e.where}: {span.entity}"
        for e in training_examples() + holdout_examples()
        for span in e.spans
        if span.entity not in ENTITIES
    ]
    assert not bad, "unknown entity names:\n" + "\n".join(bad)


def test_entity_spans_are_trimmed_and_non_empty() -> None:
    bad = [
        f"{e.where}: {span.value!r}"
        for e in training_examples() + holdout_examples()
        for span in e.spans
        if not span.value.strip() or span.value != span.value.strip()
    ]
    assert not bad, "entity values with surrounding whitespace:\n" + "\n".join(bad)


def test_entity_spans_align_with_jieba_tokens() -> None:
    misaligned: list[str] = []
    for example in training_examples() + holdout_examples():
        if not example.spans:
            continue
        boundaries = token_boundaries(example.text)
        for span in example.spans:
            if span.start not in boundaries or span.end not in boundaries:
                tokens = " / ".join(_tokenizer()(_to_simplified()(example.text)))
                misaligned.append(f"{example.where}: {span.value!r} ({span.entity}) | {tokens}")
    assert not misaligned, "entity spans not on token boundaries:\n" + "\n".join(misaligned)


def test_periods_annotation_includes_unit() -> None:
    """Convention: annotate the whole count with its unit, `[六期](periods)` / `[12个月](periods)` /
    `[6 payments](periods)`, never the bare number."""
    bad = [
        f"{e.where}: {span.value!r}"
        for e in training_examples() + holdout_examples()
        for span in e.spans
        if span.entity == "periods" and not re.search(r"(期|个月|\b(payments?|instal?lments?|months?))$", span.value)
    ]
    assert not bad, "periods spans must end in 期, 个月, payments, installments or months:\n" + "\n".join(bad)


_SPOKEN_DIGIT = re.compile(r"\b(zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.IGNORECASE)


def test_id_last4_spans_are_four_characters() -> None:
    """Four characters, an English digit word counting as one ('four four one seven')."""
    bad = [
        f"{e.where}: {span.value!r}"
        for e in training_examples() + holdout_examples()
        for span in e.spans
        if span.entity == "id_last4" and len(re.sub(r"[\s-]", "", _SPOKEN_DIGIT.sub("#", span.value))) != 4
    ]
    assert not bad, "id_last4 spans must be exactly four characters:\n" + "\n".join(bad)


MIN_HOLDOUT_SPANS_PER_ENTITY = 8


def test_holdout_exercises_every_entity() -> None:
    """The held-out entity-value accuracy (tests/e2e/test_nlu_holdout.py) means something only if every
    entity the assistant extracts is annotated in the holdout often enough to be measured."""
    spans = Counter(span.entity for example in holdout_examples() for span in example.spans)
    thin = {entity: spans[entity] for entity in ENTITIES if spans[entity] < MIN_HOLDOUT_SPANS_PER_ENTITY}
    assert not thin, f"entities with fewer than {MIN_HOLDOUT_SPANS_PER_ENTITY} held-out annotations: {thin}"
