"""TTS time-to-first-chunk and real-time factor per engine, uncached ('cold') and from the synthesis cache; then
long replies spoken by a phone call (voice/call.py, sentence by sentence), from the reply handed to the call to its
first audio frame on the line, uncached.

    .venv/bin/python -m benchmarks.tts_latency [--engines espeak piper] [--rounds 3]

Mandarin sentences are the bot's fixed replies from domain.yml; English ones are for the piper voice.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from types import SimpleNamespace

from configuration.settings import VoiceSettings
from voice.call import CallParty, VoiceCall, VoiceServices
from voice.frames import OutputAudio
from voice.tts import CachedTts, fixed_templates, make_tts_engine

ENGLISH = [
    "Hello, this is an automated assistant. This call is recorded.",
    "Could you confirm the last four digits of your ID number?",
    "Thank you. Your payment plan has been recorded.",
]


LONG_REPLIES = [
    "好的，分3期方案已确认，共3,600.00元。第一期1,200.00元请在12月11日前还款。第二期1,200.00元请在2027年1月11日前还款。",
    "您在示例消费金融的借款当前应还3,500.00元，已逾期12天。请问是什么原因导致逾期的呢？您今天方便全额还款吗？",
    "根据减免政策，可以为您减免逾期费用200.00元，减免后应还3,300.00元。减免以您按约定时间还款为前提。请问您哪天可以还款？",
    "Great, the 3-payment plan is confirmed, $3,600.00 in total. The first payment of $1,200.00 is due by "
    "December 11. Is there anything else I can help with?",
]


class _OpensWith:
    """Stands in for the conversation service: the call opens with one reply (already through the egress)."""

    def __init__(self, text: str) -> None:
        self.text = text

    async def open(self, borrower_id: str, channel: str, **_: object) -> tuple[object, object]:
        return (SimpleNamespace(conversation_id="benchmark", language="zh"),
                SimpleNamespace(messages=[SimpleNamespace(text=self.text, buttons=[])]))


async def _call_first_audio(engine_name: str, text: str) -> float:
    """Seconds from a reply handed to a phone call to its first 20 ms frame going out, nothing cached."""
    settings = VoiceSettings(tts_engine=engine_name, tts_cache_entries=0)
    first: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def send(frame: object) -> None:
        if isinstance(frame, OutputAudio) and not first.done():
            first.set_result(time.perf_counter())

    async def hangup(reason: str) -> None:
        return None

    services = VoiceServices(_OpensWith(text), asr=None, decode_pool=None, tts=make_tts_engine(settings),
                             settings=settings)
    call = VoiceCall(services, send, hangup, 8000, "phone")
    started = time.perf_counter()
    try:
        await call.start(CallParty("benchmark"))
        return await first - started
    finally:
        await call.close()


async def _measure(engine: CachedTts, text: str, language: str) -> tuple[float, float, float]:
    started = time.perf_counter()
    first = None
    audio_bytes = 0
    async for chunk in engine.synthesize(text, language):
        first = first if first is not None else time.perf_counter() - started
        audio_bytes += len(chunk)
    total = time.perf_counter() - started
    return first or total, total, audio_bytes / 2 / engine.sample_rate


def _row(label: str, samples: list[tuple[float, float, float]]) -> str:
    ttfc = [first * 1000 for first, _, _ in samples]
    rtf = sum(total for _, total, _ in samples) / sum(seconds for _, _, seconds in samples)
    return (f"{label:<24} TTFC p50 {statistics.median(ttfc):8.2f} ms  max {max(ttfc):8.2f} ms   "
            f"RTF {rtf:6.3f}   (n={len(samples)}, {sum(s for _, _, s in samples):.1f} s audio)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", choices=["espeak", "piper"], default=["espeak", "piper"])
    parser.add_argument("--rounds", type=int, default=3, help="times each long reply is spoken by a call")
    args = parser.parse_args()
    mandarin = fixed_templates(lender_names=["示例消费金融"])
    for name in args.engines:
        loading = time.perf_counter()
        engine = make_tts_engine(VoiceSettings(tts_engine=name))
        print(f"{name}: voice {engine.voice_id}, {engine.sample_rate} Hz, loaded in {time.perf_counter() - loading:.2f} s")
        for language, texts in (("zh", mandarin), ("en", ENGLISH)):
            cold = [await _measure(engine, text, language) for text in texts]
            cached = [await _measure(engine, text, language) for text in texts]
            served_by = "espeak-ng" if name == "piper" and language == "zh" else name
            print("  " + _row(f"{language} ({served_by}) cold", cold))
            print("  " + _row(f"{language} ({served_by}) cached", cached))
        firsts = [await _call_first_audio(name, text) * 1000 for _ in range(args.rounds) for text in LONG_REPLIES]
        print(f"  {'long replies on a call':<24} first audio p50 {statistics.median(firsts):8.2f} ms  "
              f"max {max(firsts):8.2f} ms   (n={len(firsts)}, {len(LONG_REPLIES)} replies of 3-4 sentences)")


if __name__ == "__main__":
    asyncio.run(main())
