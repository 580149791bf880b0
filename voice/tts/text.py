"""Text preparation shared by the TTS engines: request checks, clause splitting, Mandarin numbers, pinyin."""
from __future__ import annotations

import re

import cn2an
from pypinyin import Style, lazy_pinyin, load_phrases_dict

from voice.tts.base import TtsInputError, UnsupportedLanguage

MAX_TEXT_CHARS = 2000
_LANGUAGE_ALIASES = {"zh": "zh", "zh-cn": "zh", "zh_cn": "zh", "cmn": "zh", "en": "en", "en-us": "en", "en_us": "en"}

# Clause ends: Chinese and English punctuation; the mark stays with its clause so prosody keeps the pause.
_CLAUSE_END = re.compile(r"(?<=[，。！？；：、,.!?;:…\n])")
_MIN_CLAUSE_CHARS = 4  # tiny clauses ('好的，') ride with the next one: one process start per clause costs time


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
    """'您好，我是助手。请问您是本人吗？' → ['您好，我是助手。', '请问您是本人吗？'] (short heads merged)."""
    clauses: list[str] = []
    pending = ""
    for piece in _CLAUSE_END.split(text):
        pending += piece
        if len(pending.strip()) >= _MIN_CLAUSE_CHARS:
            clauses.append(pending.strip())
            pending = ""
    if pending.strip():
        if clauses:
            clauses[-1] += pending.strip()
        else:
            clauses.append(pending.strip())
    return clauses


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
