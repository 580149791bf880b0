"""TTS time-to-first-chunk and real-time factor per engine, uncached ('cold') and from the synthesis cache.

    .venv/bin/python -m benchmarks.tts_latency [--engines espeak piper]

Mandarin sentences are the bot's fixed replies from domain.yml; English ones are for the piper voice.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from configuration.settings import VoiceSettings
from voice.tts import CachedTts, fixed_templates, make_tts_engine

ENGLISH = [
    "Hello, this is an automated assistant. This call is recorded.",
    "Could you confirm the last four digits of your ID number?",
    "Thank you. Your payment plan has been recorded.",
]


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


if __name__ == "__main__":
    asyncio.run(main())
