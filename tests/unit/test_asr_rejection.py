"""Which decodes never reach the NLU: each failure mode Whisper shows on bad audio, by its own name."""
from __future__ import annotations

import pytest
from faster_whisper.transcribe import Segment

from voice.asr.faster_whisper_engine import DOMAIN_HOTWORDS, DecodeOptions, rejection_reason, segment_confidence

OPTIONS = DecodeOptions()


def _segment(text: str, avg_logprob: float = -0.2, no_speech_prob: float = 0.05,
             compression_ratio: float = 1.1) -> Segment:
    return Segment(id=1, seek=0, start=0.0, end=2.0, text=text, tokens=list(range(len(text))),
                   avg_logprob=avg_logprob, compression_ratio=compression_ratio, no_speech_prob=no_speech_prob,
                   words=None, temperature=0.0)


@pytest.mark.parametrize(("text", "segment", "reason"), [
    ("我这周五先还两千块钱。", {}, None),
    ("我要还款", {}, None),
    ("", {}, "no_speech"),
    ("。。。", {}, "no_speech"),
    ("以下是普通话的电话录音，关于还款、分期", {}, "prompt_echo"),
    ("字幕由Amara.org社区提供", {}, "hallucination"),
    ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", {}, "hallucination"),
    ("嗯", {"no_speech_prob": 0.9}, "no_speech"),
    ("您好 您好 您好 您好 您好 您好", {"compression_ratio": 3.1}, "repetition"),
    ("为您好现在为您", {"avg_logprob": -1.6}, "low_confidence"),
])
def test_rejection_reasons(text: str, segment: dict, reason: str | None) -> None:
    assert rejection_reason(text, [_segment(text, **segment)], OPTIONS) == reason


def test_a_hotword_list_read_back_is_an_echo_when_hotwords_are_on() -> None:
    with_hotwords = DecodeOptions(hotwords=DOMAIN_HOTWORDS)
    assert rejection_reason("还款 分期 逾期 身份证", [_segment("还款 分期 逾期 身份证")], with_hotwords) == "prompt_echo"


def test_confidence_weights_segments_by_their_length() -> None:
    long_sure, short_unsure = _segment("我下个月十五号发工资", avg_logprob=-0.1), _segment("嗯", avg_logprob=-2.0)
    assert segment_confidence([long_sure, short_unsure]) > 0.7
    assert segment_confidence([]) == 0.0
