"""Real synthesis: espeak-ng (Mandarin through pinyin, English), piper's shipped voice, the cache, bad input."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from configuration.settings import VoiceSettings
from voice.tts import CachedTts, TtsEngineError, TtsInputError, UnsupportedLanguage, fixed_templates, make_tts_engine
from voice.tts.coqui_engine import CoquiEngine, NeuralTtsUnavailable
from voice.tts.espeak import EspeakEngine, mandarin_ssml
from voice.tts.piper_engine import PiperEngine, default_piper_voice
from voice.tts.text import mandarin_to_pinyin, split_clauses, split_sentences, verbalise_mandarin_numbers

pytestmark = pytest.mark.asyncio

THREE_CLAUSES = "您好，我是智能客服助手，本次通话将全程录音。请问您是张伟本人吗？您当前应还3,500.00元。"


async def _render(engine: object, text: str, language: str) -> tuple[bytes, int]:
    audio, chunks = b"", 0
    async for chunk in engine.synthesize(text, language):  # type: ignore[attr-defined]
        assert len(chunk) % 2 == 0
        audio += chunk
        chunks += 1
    return audio, chunks


def _seconds(audio: bytes, sample_rate: int) -> float:
    return len(audio) / 2 / sample_rate


class CountingEspeak(EspeakEngine):
    """The real espeak-ng engine, counting how often it is asked to render and which clauses it started."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.clauses_started: list[str] = []

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        self.calls += 1
        async for chunk in super().synthesize(text, language):
            yield chunk

    async def _speak(self, text: str, voice: str, ssml: bool) -> AsyncIterator[bytes]:
        self.clauses_started.append(text)
        async for chunk in super()._speak(text, voice, ssml):
            yield chunk


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    return PiperEngine(default_piper_voice())


async def test_espeak_speaks_mandarin_through_pinyin() -> None:
    engine = EspeakEngine()
    text = "您好，本次通话将全程录音。"
    audio, _ = await _render(engine, text, "zh")
    assert engine.sample_rate == 22050
    # Roughly 0.15–0.6 s per syllable: real speech, not a click and not a runaway.
    assert 0.15 * len(text) < _seconds(audio, engine.sample_rate) < 0.6 * len(text)


async def test_espeak_speaks_english() -> None:
    engine = EspeakEngine()
    audio, _ = await _render(engine, "Hello, this call is recorded.", "en")
    assert 0.8 < _seconds(audio, engine.sample_rate) < 5


async def test_piper_speaks_with_the_shipped_joe_voice(piper: PiperEngine) -> None:
    audio, chunks = await _render(piper, "Hello. This is an automated assistant.", "en")
    assert piper.sample_rate == 22050 and piper.languages == {"en"} and chunks == 2
    assert 1.0 < _seconds(audio, piper.sample_rate) < 6
    assert max(abs(int.from_bytes(audio[i:i + 2], "little", signed=True)) for i in range(0, len(audio), 200)) > 1000


async def test_piper_refuses_mandarin_it_cannot_speak(piper: PiperEngine) -> None:
    with pytest.raises(UnsupportedLanguage, match="'zh'"):
        await _render(piper, "您好", "zh")


async def test_with_piper_configured_mandarin_falls_back_to_espeak() -> None:
    engine = make_tts_engine(VoiceSettings(tts_engine="piper"))
    assert engine.languages == {"zh", "en"}
    audio, _ = await _render(engine, "您好，请问您是本人吗？", "zh")
    assert _seconds(audio, engine.sample_rate) > 1.0


async def test_first_audio_leaves_before_the_later_clauses_are_rendered() -> None:
    engine = CountingEspeak()
    stream = engine.synthesize(THREE_CLAUSES, "zh")
    first_chunk = await stream.__anext__()
    # Ordering, not wall-clock time: when the first audio is handed out, only the first clause has
    # been given to espeak-ng (a renderer that did the whole text first would have started all three).
    assert first_chunk and len(engine.clauses_started) == 1

    rest = [chunk async for chunk in stream]
    assert len(engine.clauses_started) == len(split_clauses(THREE_CLAUSES)) >= 3
    # The later clauses' audio came after the first chunk, and is more than that chunk alone.
    assert sum(map(len, rest)) > len(first_chunk)


async def test_a_cached_reply_is_replayed_without_synthesis(tmp_path: Path) -> None:
    engine = CountingEspeak()
    cache = CachedTts(engine, max_entries=8)
    first, _ = await _render(cache, "请问还有其他需要帮助的吗？", "zh")
    again, chunks = await _render(cache, "请问还有其他需要帮助的吗？", "zh")
    assert engine.calls == 1 and again == first and chunks > 1  # replayed in chunks, so playback can be cut
    assert (cache.hits, cache.misses) == (1, 1)


async def test_the_cache_key_includes_language_and_the_lru_evicts_the_oldest() -> None:
    engine = CountingEspeak()
    cache = CachedTts(engine, max_entries=1)
    await _render(cache, "OK", "en")
    await _render(cache, "好的，没问题。", "zh")
    await _render(cache, "OK", "en")
    assert engine.calls == 3


async def test_a_disk_cache_survives_a_restart(tmp_path: Path) -> None:
    before_restart = CachedTts(CountingEspeak(), max_entries=8, disk_dir=tmp_path)
    audio, _ = await _render(before_restart, "您好，我在听。", "zh")
    engine = CountingEspeak()
    after_restart = CachedTts(engine, max_entries=8, disk_dir=tmp_path)
    replayed, _ = await _render(after_restart, "您好，我在听。", "zh")
    assert replayed == audio and engine.calls == 0


async def test_a_synthesis_cut_short_by_barge_in_is_not_cached() -> None:
    engine = CountingEspeak()
    cache = CachedTts(engine, max_entries=8)
    stream = cache.synthesize(THREE_CLAUSES, "zh")
    await stream.__anext__()
    await stream.aclose()  # the borrower talked over the bot
    full, _ = await _render(cache, THREE_CLAUSES, "zh")
    assert engine.calls == 2 and _seconds(full, cache.sample_rate) > 5


async def test_prewarm_renders_the_fixed_templates_once() -> None:
    templates = fixed_templates(lender_names=["示例消费金融"])
    assert "请问还有其他需要帮助的吗？" in templates
    assert any("示例消费金融" in text for text in templates)
    assert not any("{" in text for text in templates)
    engine = CountingEspeak()
    cache = make_tts_engine(VoiceSettings(tts_cache_entries=64))
    cache.engine = engine  # count the real espeak renders behind the configured cache
    # Sentence by sentence, as a call speaks them: a sentence two templates share is rendered once.
    sentences = {sentence.strip() for text in templates for sentence in split_sentences(text)}
    assert len(sentences) > len(templates)
    assert await cache.prewarm((text, "zh") for text in templates) == len(sentences)
    assert await cache.prewarm((text, "zh") for text in templates) == 0
    await _render(cache, split_sentences(templates[0])[0], "zh")
    assert engine.calls == len(sentences)


@pytest.mark.parametrize(("text", "language", "error", "message"), [
    ("", "zh", TtsInputError, "empty"),
    ("   \n", "zh", TtsInputError, "empty"),
    ("您好" * 1001, "zh", TtsInputError, "limit"),
    ("Bonjour", "fr", UnsupportedLanguage, "'fr'"),
])
async def test_bad_requests_are_clear_errors(text: str, language: str, error: type, message: str) -> None:
    for engine in (EspeakEngine(), make_tts_engine(VoiceSettings())):
        with pytest.raises(error, match=message):
            await _render(engine, text, language)


async def test_text_starting_with_a_dash_is_spoken_not_taken_as_an_option() -> None:
    audio, _ = await _render(EspeakEngine(), "--version please", "en")
    assert _seconds(audio, 22050) > 0.5


async def test_coqui_without_its_package_names_the_package_and_how_to_install() -> None:
    with pytest.raises(NeuralTtsUnavailable, match=r"coqui-tts.*requirements/neural-tts\.txt"):
        CoquiEngine(Path("/models/xtts"))
    with pytest.raises(NeuralTtsUnavailable):
        make_tts_engine(VoiceSettings(tts_engine="coqui", tts_model_path=Path("/models/xtts")))


async def test_a_piper_voice_path_without_its_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "voice.onnx").write_bytes(b"not a model")
    with pytest.raises(TtsEngineError, match="voice.onnx.json"):
        PiperEngine(tmp_path / "voice.onnx")


@pytest.mark.parametrize(("written", "spoken"), [
    ("您当前应还3,500.00元", "您当前应还三千五百元"),
    ("共123,456.78元", "共十二万三千四百五十六元七角八分"),
    ("还12.05元", "还十二元零五分"),
    ("2026年11月5日到期", "二零二六年十一月五日到期"),
    ("身份证后四位3821", "身份证后四位三八二一"),
    ("分3期", "分三期"),
    ("利率12.5%", "利率百分之十二点五"),
])
async def test_numbers_are_spoken_as_mandarin_words(written: str, spoken: str) -> None:
    assert verbalise_mandarin_numbers(written) == spoken


async def test_latin_words_in_mandarin_are_spoken_by_the_english_voice() -> None:
    assert mandarin_ssml("官方App的<立即还款>") == (
        '<speak><voice name="cmn-latn-pinyin">guan1 fang1</voice><voice name="en-us">App</voice>'
        '<voice name="cmn-latn-pinyin">de5 &lt; li4 ji2 huan2 kuan3 &gt;</voice></speak>')
    audio, _ = await _render(EspeakEngine(), "我是AI自动应答<非真人>&", "zh")
    assert _seconds(audio, 22050) > 1.0


async def test_pinyin_reads_repay_as_huan_and_marks_neutral_tones() -> None:
    assert mandarin_to_pinyin("立即还款") == "li4 ji2 huan2 kuan3"
    assert mandarin_to_pinyin("我明天就还") == "wo3 ming2 tian1 jiu4 huan2"
    assert mandarin_to_pinyin("还有吗？") == "hai2 you3 ma5 ?"


@pytest.mark.parametrize(("reply", "sentences"), [
    ("好的，分3期方案已确认，共3,600.00元。第一期1,200.00元请在12月11日前还款。",
     ["好的，分3期方案已确认，共3,600.00元。", "第一期1,200.00元请在12月11日前还款。"]),
    ("您同意这个方案吗？确认请按1，不同意请按2。", ["您同意这个方案吗？", "确认请按1，不同意请按2。"]),
    ("好的。真的吗？！我记下了", ["好的。真的吗？！", "我记下了"]),  # '好的。' is too short to stand alone
    ("“好的。”请您稍候一下", ["“好的。”", "请您稍候一下"]),  # the closing quote stays with its sentence
    ("Mr. Lee, your balance is $1,200.50. It was due Dec. 5 at 5 p.m. Can you pay today?",
     ["Mr. Lee, your balance is $1,200.50. ", "It was due Dec. 5 at 5 p.m. Can you pay today?"]),
    ("The U.S. office opens at 10:30.\nSee example.com for details.",
     ["The U.S. office opens at 10:30.\n", "See example.com for details."]),
    ("OK", ["OK"]),
    ("  ", []),
])
async def test_a_reply_is_cut_at_sentence_ends_keeping_numbers_and_abbreviations_whole(
        reply: str, sentences: list[str]) -> None:
    assert split_sentences(reply) == sentences
    assert "".join(sentences) == reply.strip() or "".join(sentences) == reply


async def test_clauses_never_cut_a_number() -> None:
    """Clause ends include ',' and '.': the old split read '3,500.00元' as '3,', '500.', '00元' (three numbers)."""
    assert split_clauses(THREE_CLAUSES)[-1] == "您当前应还3,500.00元。"
    assert split_clauses("Your balance is $1,200.50, due 10:30 a.m. Friday.") == [
        "Your balance is $1,200.50,", "due 10:30 a.m. Friday."]
