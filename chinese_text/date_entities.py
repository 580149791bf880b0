"""Date and amount entities in one message, beyond what DIET found: days and money said in a common form it missed or
cut short, and the dates the borrower rules out when another is offered. Entities are Rasa's dicts (entity, start, end, ...)."""
from __future__ import annotations

import re
from typing import Any

import english_text
from chinese_text.amounts import amount_spans
from chinese_text.dates import date_spans, ruled_out

_LATIN_LETTER = re.compile(r"[A-Za-z]")
_TIME_OF_DAY = re.compile(r"^(?:早上|早晨|上午|中午|下午|傍晚|晚上|晚|夜里)$")


def with_pattern_dates(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Adds the days said in a common form that DIET missed or cut short ('明天不行，这礼拜天吧' with only '明天'
    found, '礼拜天' found inside '这礼拜天', 'tomorrow' inside 'the day after tomorrow'); a date DIET found that
    reaches beyond the pattern stands. A bare time of day right after such a day ('明儿个下午') is part of it,
    not a second date (today's afternoon)."""
    spans = date_spans(text) + (english_text.date_spans(text) if _LATIN_LETTER.search(text) else [])
    return _with_pattern_entities(entities, text, "date", spans)


def with_pattern_amounts(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Adds money said plainly that DIET missed ('先还伍佰', '五百块', 'a grand', 'two grand', '$300', '1.5k')."""
    spans = amount_spans(text) + (english_text.amount_spans(text) if _LATIN_LETTER.search(text) else [])
    return _with_pattern_entities(entities, text, "amount", spans)


def _with_pattern_entities(entities: list[dict[str, Any]], text: str, kind: str,
                           spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    found = [entity for entity in entities if entity["entity"] == kind and "start" in entity]
    others = [entity for entity in entities if entity["entity"] not in (kind, "language") and "start" in entity]
    kept = list(entities)
    for start, end in spans:
        if any(entity["start"] < end and start < entity["end"] for entity in others):
            continue  # DIET read those words as something else (a count, ID digits): its reading stands
        overlapping = [entity for entity in found if entity["start"] < end and start < entity["end"]]
        if any(not start <= entity["start"] <= entity["end"] <= end for entity in overlapping):
            continue
        if any((entity["start"], entity["end"]) == (start, end) for entity in overlapping):
            continue
        time_of_day = [entity for entity in found if kind == "date" and entity["start"] == end
                       and _TIME_OF_DAY.match(text[entity["start"]:entity["end"]])]
        replaced = overlapping + time_of_day
        kept = [entity for entity in kept if not any(entity is gone for gone in replaced)]
        kept.append({"entity": kind, "start": start, "end": end, "extractor": "EntityValueNormaliser"})
    return sorted(kept, key=lambda entity: entity.get("start", len(text)))


def without_ruled_out_dates(entities: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """"今天全额不行，这礼拜天先还八百" names two dates and means the second: a date the borrower rules out is dropped
    when another remains (alone, "今天全额不行，先还八百" may still mean a part today: the dialogue asks)."""
    dates = [entity for entity in entities if entity["entity"] == "date" and "start" in entity]
    dropped = [entity for entity in dates if ruled_out(text, entity["start"], entity["end"])]
    if not dropped or len(dropped) == len(dates):
        return entities
    return [entity for entity in entities if not any(entity is gone for gone in dropped)]
