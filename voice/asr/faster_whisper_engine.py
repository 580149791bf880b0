"""faster-whisper (CTranslate2) ASR: Mandarin borrower speech → a normalised, vetted Transcript."""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import soxr
from faster_whisper import WhisperModel
from faster_whisper.transcribe import Segment

from configuration.settings import CarefulRedecode
from voice.asr.base import Transcript
from voice.asr.numerals import normalise_transcript
from voice.heard_values import carries_id_answer, carries_numbers

WHISPER_SAMPLE_RATE = 16000
MEL_FRAMES_PER_SECOND = 100  # Whisper's log-mel hop: 10 ms
FULL_WINDOW_SECONDS = 30  # Whisper's own window: asking for this much padding is asking for faster-whisper's
MIN_INPUT_RATE = 4000
MAX_INPUT_RATE = 192000
TOKENS_PER_SECOND = 15
MAX_NEW_TOKENS = 220

# Words the borrower is likely to say that a general model often mishears (还款 → 环款, 分期 → 分七).
DOMAIN_HOTWORDS = "还款 分期 逾期 身份证 后四位 转人工 罚息 减免 利息 欠款 工资 投诉 本人 块钱 号"
# Whisper writes Traditional or unpunctuated text unless the prompt shows it Simplified with punctuation.
BASE_PROMPT = "以下是普通话的电话录音。"
DOMAIN_PROMPT = "以下是普通话的电话录音，关于还款、分期、逾期、罚息减免、身份证后四位和转人工。"
# An English call: a prompt in English keeps Whisper in English and writes numbers as digits.
ENGLISH_PROMPT = "A phone call about a loan payment: the last 4 digits are 4417, I can pay $300 on Friday."

# What Whisper says over noise and silence, learned from subtitle credits in its training data.
KNOWN_HALLUCINATIONS = (
    "字幕由", "字幕提供", "请不吝点赞", "订阅", "打赏支持", "明镜与点点", "谢谢观看", "感谢观看",
    "谢谢收看", "Amara", "优优独播剧场", "YoYo Television",
)
_NOT_SPOKEN = re.compile(r"[\s\W_]+", re.UNICODE)


class AsrInputError(ValueError):
    """The audio handed to the ASR is not 16-bit mono PCM at a sane rate."""


@dataclass(frozen=True)
class DecodeOptions:
    language: str = "zh"
    beam_size: int = 1
    initial_prompt: str = DOMAIN_PROMPT
    hotwords: str | None = None
    min_avg_logprob: float = -1.2     # mean token log-probability below this → low_confidence
    no_speech_threshold: float = 0.6  # Whisper's own silence probability above this → no_speech
    max_compression_ratio: float = 2.4  # looping output ("还还还还…") compresses too well

    def for_language(self, language: str) -> "DecodeOptions":
        """The same thresholds for a call in another language; the Mandarin prompt and hotwords stay Mandarin's."""
        if language == self.language:
            return self
        prompt = ENGLISH_PROMPT if language == "en" else ""
        return replace(self, language=language, initial_prompt=prompt, hotwords=None)


def _spoken(text: str) -> str:
    return _NOT_SPOKEN.sub("", text)


def _longest_common_substring(a: str, b: str) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for char_a in a:
        current = [0] * (len(b) + 1)
        for j, char_b in enumerate(b, start=1):
            if char_a == char_b:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def echoes_prompt(text: str, prompt: str) -> bool:
    """True when the 'transcript' is the prompt coming back, Whisper's answer to unintelligible audio."""
    heard, shown = _spoken(text), _spoken(prompt)
    if not heard or not shown:
        return False
    overlap = _longest_common_substring(heard, shown)
    # A borrower may say one hotword ('还款'); reciting a long stretch of the prompt is the echo.
    return overlap >= 8 or (overlap >= 4 and overlap / len(heard) >= 0.6)


def repeats_itself(text: str, shortest: int = 4) -> bool:
    """Whether `text` says the same run of at least `shortest` characters twice in a row: the decoder looping, which
    the short window does on a few utterances cut right at their last sound ("你们别再给我打电话了" came out twice),
    and people almost never do."""
    spoken = _spoken(text)
    for length in range(len(spoken) // 2, shortest - 1, -1):
        if any(spoken[start:start + length] == spoken[start + length:start + 2 * length]
               for start in range(len(spoken) - 2 * length + 1)):
            return True
    return False


def segment_confidence(segments: Sequence[Segment]) -> float:
    """exp of the token-weighted mean log-probability: 1 = certain, ~0.3 = guessing."""
    if not segments:
        return 0.0
    weights = [max(len(segment.tokens), 1) for segment in segments]
    mean_logprob = sum(s.avg_logprob * w for s, w in zip(segments, weights)) / sum(weights)
    return math.exp(mean_logprob)


def rejection_reason(raw_text: str, segments: Sequence[Segment], options: DecodeOptions) -> str | None:
    """Why this decode must not reach the NLU, or None when it is a usable transcript."""
    if not _spoken(raw_text):
        return "no_speech"
    if echoes_prompt(raw_text, options.initial_prompt) or (options.hotwords and echoes_prompt(raw_text, options.hotwords)):
        return "prompt_echo"
    if any(marker.lower() in raw_text.lower() for marker in KNOWN_HALLUCINATIONS):
        return "hallucination"
    if all(segment.no_speech_prob > options.no_speech_threshold for segment in segments):
        return "no_speech"
    if max(segment.compression_ratio for segment in segments) > options.max_compression_ratio:
        return "repetition"
    if segment_confidence(segments) < math.exp(options.min_avg_logprob):
        return "low_confidence"
    return None


def _token_budget(seconds: float) -> int:
    """Room for fast speech (~6 characters/s, up to 2 tokens each) but not for a decoding loop, which
    would otherwise run to Whisper's 448-token limit and hold the caller for seconds."""
    return min(MAX_NEW_TOKENS, 20 + math.ceil(seconds * TOKENS_PER_SECOND))


def pcm16_to_float(pcm16: bytes, sample_rate: int) -> np.ndarray:
    """Validate 16-bit mono PCM and return float32 samples at Whisper's 16 kHz."""
    if not isinstance(pcm16, (bytes, bytearray, memoryview)):
        raise AsrInputError(f"audio must be bytes of 16-bit PCM, got {type(pcm16).__name__}")
    if len(pcm16) % 2:
        raise AsrInputError(f"16-bit PCM needs an even number of bytes, got {len(pcm16)}")
    if not MIN_INPUT_RATE <= sample_rate <= MAX_INPUT_RATE:
        raise AsrInputError(f"sample rate {sample_rate} Hz is outside {MIN_INPUT_RATE}–{MAX_INPUT_RATE} Hz")
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
    if sample_rate != WHISPER_SAMPLE_RATE and samples.size:
        samples = soxr.resample(samples, sample_rate, WHISPER_SAMPLE_RATE).astype(np.float32)
    return samples


class ShortWindowWhisper(WhisperModel):
    """Whisper whose encoder sees the utterance and some seconds of silence after it, not the 30 s window
    faster-whisper pads every utterance to. The encoder is most of a decode's time and grows with its input, so
    a 3 s utterance encodes several times faster; with too little silence after it Whisper base drops or
    changes words (benchmarks/asr_accuracy.py --padding measures it). Each decode names its own padding (in mel
    frames; None: the full window)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._decoding = threading.local()  # decodes run in several pool threads at once, each with its own window

    def transcribe_window(self, audio: np.ndarray, padding_frames: int | None, **options: object) -> list[Segment]:
        """faster-whisper's transcribe, decoded in this thread (encode is called while iterating), the encoder
        seeing the speech and `padding_frames` of silence (None: the whole 30 s window)."""
        self._decoding.padding_frames = padding_frames
        try:
            segments, _info = self.transcribe(audio, **options)
            return list(segments)
        finally:
            self._decoding.padding_frames = None

    def encode(self, features: np.ndarray):  # -> ctranslate2.StorageView
        padding_frames = getattr(self._decoding, "padding_frames", None)
        if padding_frames is not None:
            features = shorter_window(features, padding_frames)
        return super().encode(features)


def _frames(padding_seconds: float | None) -> int | None:
    """Seconds of padding as log-mel frames; None (or Whisper's whole window or more): the full window."""
    if padding_seconds is None or padding_seconds >= FULL_WINDOW_SECONDS:
        return None
    return round(padding_seconds * MEL_FRAMES_PER_SECOND)


def shorter_window(features: np.ndarray, padding_frames: int) -> np.ndarray:
    """The padded log-mel window cut to its speech plus `padding_frames`. faster-whisper pads with exact zeros
    (no spoken frame is all zeros); the kept padding is refilled with the window's floor, which is what digital
    silence looks like after Whisper's clamp and what the model was trained on (zeros scored worse)."""
    spoken = np.flatnonzero(np.any(features != 0, axis=tuple(range(features.ndim - 1))))
    content = int(spoken[-1]) + 1 if spoken.size else 0
    frames = min(features.shape[-1], content + padding_frames)
    window = np.array(features[..., :frames])
    window[..., content:] = features[..., :content].min() if content else 0.0
    return window


class FasterWhisperEngine:
    """Decodes with the short encoder window (`padding_seconds`), then decodes once more with the careful window
    (`numbers_padding_seconds` of silence after the speech; None: Whisper's whole 30 s window) when the short result
    is one `careful_redecode` names, and returns that: "id_answer" (the default): the ID answer's own words
    (voice.heard_values.carries_id_answer), whose digits the short window mishears (d03's "三八二一" comes out "381"
    under 12 s of padding) at the cost of a verification attempt; "numbers": any digits, date or weekday too
    (carries_numbers); "off": never. A result that repeats itself (the decoder looping) is decoded again unless
    "off". Amounts, dates and counts read the same in the short and the careful window on every fixture (and a
    doubtful one is read back to the caller before it is acted on), while a second decode doubled those turns'
    time: they were the whole p95 tail at four calls. The choice is made here, so file transcription, the CLI and
    calls decode the same way. A call that has just asked for the ID digits says so (`numbers_expected`): that
    turn is decoded once, with the careful window."""
    sample_rate = WHISPER_SAMPLE_RATE

    def __init__(self, model_dir: Path, *, device: str = "cpu", compute_type: str = "int8",
                 cpu_threads: int = 2, workers: int = 1, options: DecodeOptions = DecodeOptions(),
                 padding_seconds: float | None = None, careful_redecode: CarefulRedecode = "id_answer",
                 numbers_padding_seconds: float | None = None) -> None:
        # A directory path, never a size name: WhisperModel('base') would try to download.
        self._model = ShortWindowWhisper(str(model_dir), device=device, compute_type=compute_type,
                                         cpu_threads=cpu_threads, num_workers=workers, local_files_only=True)
        self.options = options
        self.model_dir = model_dir
        self.careful_redecode = careful_redecode
        self.padding_frames = _frames(padding_seconds)
        careful = _frames(numbers_padding_seconds)
        # The careful window is never shorter than the first one: with no short window every decode is careful.
        self.numbers_padding_frames = (None if careful is None or self.padding_frames is None
                                       else max(careful, self.padding_frames))

    def transcribe(self, pcm16: bytes, sample_rate: int, language: str | None = None,
                   numbers_expected: bool = False) -> Transcript:
        audio = pcm16_to_float(pcm16, sample_rate)
        seconds = audio.size / WHISPER_SAMPLE_RATE
        options = self.options.for_language(language or self.options.language)
        language = options.language
        if seconds < 0.1:
            return Transcript("", "", language, 0.0, seconds, 0.0, rejected="no_speech")
        started = time.perf_counter()
        # One window configured: every decode is careful. Numbers expected (the bot asked for the ID digits): the
        # careful window at once, instead of a short decode that would almost always be decoded again.
        careful = self.padding_frames == self.numbers_padding_frames or (
            numbers_expected and self.careful_redecode != "off")
        segments = self._decode(audio, seconds, options,
                                self.numbers_padding_frames if careful else self.padding_frames)
        raw_text = "".join(segment.text for segment in segments).strip()
        if not careful and self._decode_again(raw_text):
            careful = True
            segments = self._decode(audio, seconds, options, self.numbers_padding_frames)
            raw_text = "".join(segment.text for segment in segments).strip()
        decode_seconds = time.perf_counter() - started
        confidence = segment_confidence(segments)
        rejected = rejection_reason(raw_text, segments, options)
        text = "" if rejected else normalise_transcript(raw_text)
        return Transcript(text, raw_text, language, confidence, seconds, decode_seconds, rejected=rejected,
                          full_window=careful)

    def _decode_again(self, raw_text: str) -> bool:
        """Whether a short-window result is one the careful window must hear again."""
        if self.careful_redecode == "off":
            return False
        heard = carries_numbers if self.careful_redecode == "numbers" else carries_id_answer
        return heard(normalise_transcript(raw_text)) or repeats_itself(raw_text)

    def _decode(self, audio: np.ndarray, seconds: float, options: DecodeOptions,
                padding_frames: int | None) -> list[Segment]:
        return self._model.transcribe_window(
            audio,
            padding_frames,
            language=options.language,
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt or None,
            hotwords=options.hotwords or None,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,  # the call pipeline's VAD already cut the utterance
            temperature=0.0,
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.min_avg_logprob,
            max_new_tokens=_token_budget(seconds),
        )
