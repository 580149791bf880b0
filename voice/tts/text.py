"""Text preparation shared by the TTS engines: request checks, clause splitting, Mandarin numbers, pinyin."""
from __future__ import annotations

import re

import cn2an
from pypinyin import Style, lazy_pinyin, load_phrases_dict

from voice.tts.base import TtsInputError, UnsupportedLanguage

MAX_TEXT_CHARS = 2000
_LANGUAGE_ALIASES = {"zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "cmn": "zh", "en": "en", "en-us": "en", "en_us": "en"}

# Where speech may pause. Sentence ends are where a reply is cut into utterances (voice/call.py); clause ends, a
# finer cut, are where an engine starts a new synthesis. A mark stays with what it ends (so prosody keeps the pause),
# as do closing quotes and brackets after it.
_SENTENCE_MARKS = "。！？!?.\n"
_CLAUSE_MARKS = _SENTENCE_MARKS + "，；：、,;:…"
_CLOSERS = "”’」』）)\"'"
# Inside a number ('1,200.50', '10:30', '3.5%') these are not ends; nor is a '.' before a letter ('example.com').
_NUMBER_SEPARATORS = ",.:，"
# English abbreviations whose '.' ends no sentence ('Mr. Smith'); dotted initials ('U.S.', 'a.m.') are found by shape.
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp",
                            "dept", "approx", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
                            "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun"})
_WORD_BEFORE = re.compile(r"[A-Za-z.]+$")
_DOTTED_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_MIN_CLAUSE_CHARS = 4  # tiny pieces ('好的，', 'OK.') ride with the next one: each synthesis start costs time


def check_request(text: str, language: str, supported: frozenset[str]) -> tuple[str, str]:
    """Return (stripped text, canonical language) or raise a clear TtsInputError."""
    if not isinstance(text, str) or not text.strip():
        raise TtsInputError("nothing to say: TTS text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise TtsInputError(f"TTS text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}")
    canonical = _LANGUAGE_ALIASES.get(str(language).strip().lower())
    if canonical is None or canonical not in supported:
        raise UnsupportedLanguage(f"language {language!r} is not spoken by this voice (supported: {sorted(supported)})")
    return text.strip(), canonical


def split_clauses(text: str) -> list[str]:
    """'您好，我是助手。请问您是本人吗？' → ['您好，我是助手。', '请问您是本人吗？'] (short heads merged); numbers
    ('3,500.00元') and abbreviations stay whole. Stripped: for an engine to render one at a time."""
    return [piece.strip() for piece in _pieces(text, _CLAUSE_MARKS)]


def split_sentences(text: str) -> list[str]:
    """A reply cut at its sentence ends (。！？ . ! ?, a line break), numbers and abbreviations kept whole, sentences
    shorter than a few characters riding with the next. The pieces join back to exactly `text` (whitespace after a
    sentence stays with it), so where each starts in the reply is known."""
    return _pieces(text, _SENTENCE_MARKS)


def _pieces(text: str, marks: str) -> list[str]:
    if not text.strip():
        return []
    pieces: list[str] = []
    start = 0
    for end in _ends(text, marks):
        if len(text[start:end].strip()) >= _MIN_CLAUSE_CHARS:
            pieces.append(text[start:end])
            start = end
    tail = text[start:]
    if pieces and len(tail.strip()) < _MIN_CLAUSE_CHARS:
        pieces[-1] += tail  # a tiny tail ('好吗？', trailing whitespace) rides with what came before
    elif tail:
        pieces.append(tail)
    return pieces


def _ends(text: str, marks: str) -> list[int]:
    """Offsets just past each run of ending marks (with its closing quotes and the whitespace after it)."""
    ends: list[int] = []
    index = 0
    while index < len(text):
        if text[index] not in marks or not _ends_here(text, index):
            index += 1
            continue
        index += 1
        while index < len(text) and (text[index] in marks or text[index] in _CLOSERS):
            index += 1
        while index < len(text) and text[index].isspace():
            index += 1
        ends.append(index)
    return ends


def _ends_here(text: str, index: int) -> bool:
    mark = text[index]
    after = text[index + 1] if index + 1 < len(text) else ""
    if mark in _NUMBER_SEPARATORS and index > 0 and text[index - 1].isdigit() and after.isdigit():
        return False
    if mark != ".":
        return True
    if after.isalnum():
        return False
    word = _WORD_BEFORE.search(text, 0, index)
    return word is None or not (word.group().lower() in _ABBREVIATIONS or _DOTTED_INITIALS.fullmatch(word.group()))


def _cardinal(digits: str) -> str:
    return str(cn2an.an2cn(digits, "low"))


def _digit_by_digit(digits: str) -> str:
    return str(cn2an.an2cn(digits, "direct"))


def _money(match: re.Match[str]) -> str:
    whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3)
    spoken = _cardinal(whole) + ("元" if unit in ("元", "块钱") else unit)
    fraction = fraction.ljust(2, "0")
    if fraction[0] != "0":
        spoken += _cardinal(fraction[0]) + "角"
    if fraction[1] != "0":
        spoken += ("零" if fraction[0] == "0" else "") + _cardinal(fraction[1]) + "分"
    return spoken


def _bare_number(match: re.Match[str]) -> str:
    number = match.group(0)
    if "." in number:
        return str(cn2an.an2cn(number, "low"))
    # Codes are read digit by digit (ID tails, phone numbers, '0017'); small counts as numbers.
    if len(number) >= 4 or number.startswith("0") and len(number) > 1:
        return _digit_by_digit(number)
    return _cardinal(number)


def verbalise_mandarin_numbers(text: str) -> str:
    """'3,500.00元 2026年11月 尾号3821' → '三千五百元 二零二六年十一月 尾号三八二一'."""
    text = re.sub(r"(?<=\d)[,，](?=\d{3}(?!\d))", "", text)
    text = re.sub(r"(\d+)(?:\.(\d{1,2}))?(元|块钱|块)", _money, text)
    text = re.sub(r"(\d+(?:\.\d+)?)%", lambda m: "百分之" + str(cn2an.an2cn(m.group(1), "low")), text)
    text = re.sub(r"(\d{4})年", lambda m: _digit_by_digit(m.group(1)) + "年", text)
    text = re.sub(r"(\d{1,2})(?=月|日|号|期|个月|天|点)", lambda m: _cardinal(m.group(1)), text)
    return re.sub(r"\d+(?:\.\d+)?", _bare_number, text)


# 还 is 'hai' (still) in pypinyin's default reading; in collections speech it is mostly 'huan' (repay).
load_phrases_dict({phrase: [[syllable] for syllable in reading.split()] for phrase, reading in {
    "还款": "huán kuǎn", "应还": "yīng huán", "待还": "dài huán", "已还": "yǐ huán", "未还": "wèi huán", "还清": "huán qīng",
    "还钱": "huán qián", "还上": "huán shàng", "还不上": "huán bú shàng", "先还": "xiān huán",
    "再还": "zài huán", "按时还": "àn shí huán", "就还": "jiù huán", "分期还": "fēn qī huán",
}.items()})

_PUNCTUATION_FOR_ESPEAK = str.maketrans("，。！？；：、…“”‘’（）—", ",.!?;:,,\"\"''(),")


def mandarin_to_pinyin(text: str) -> str:
    """Tone-numbered pinyin for espeak-ng's cmn-latn-pinyin voice ('还款' → 'huan2 kuan3'); 5 = neutral tone."""
    syllables = lazy_pinyin(verbalise_mandarin_numbers(text), style=Style.TONE3, neutral_tone_with_five=True,
                            v_to_u=False)
    return " ".join(syllables).translate(_PUNCTUATION_FOR_ESPEAK)
