"""Voice-call latency: end of the borrower's speech → first byte of the bot's reply audio, over the
Twilio media-stream WebSocket of a real stack it starts itself, with 1, 2 and 4 concurrent calls.
Also ASR real-time factor on the fixtures (as a phone delivers them: 8 kHz μ-law) and TTS
time-to-first-chunk (uncached).

    .venv/bin/python -m benchmarks.voice_latency [--concurrency 1 2 4] [--fixtures 20]

Each call streams the fixture utterances in real time as 20 ms μ-law frames, followed by the silence
a carrier sends; a call the dialogue ends (e.g. 'stop calling me') is replaced by a new one.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from benchmarks.bench_stack import benchmark_stack, chinese_borrower_ids
from tests.e2e.phone import FIXTURES, FakeCarrier, fixture_ulaw
from voice.asr import make_asr_engine
from voice.codecs import ulaw_to_pcm16
from configuration.settings import VoiceSettings
from voice.tts import make_tts_engine

REPLY_TIMEOUT_SECONDS = 20.0
TTS_SAMPLES = ["您好，请问是张伟先生本人吗？", "身份核实通过，谢谢您的配合。",
               "好的，已为您记录：11月27日还款2,000元。", "请问您今天能先还一部分吗？"]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(fraction * len(ordered))) - 1)]


def asr_rtf(fixtures: list[str]) -> list[float]:
    engine = make_asr_engine(VoiceSettings())
    engine.transcribe(ulaw_to_pcm16(fixture_ulaw(fixtures[0])), 8000)  # warm-up
    factors = []
    for name in fixtures:
        transcript = engine.transcribe(ulaw_to_pcm16(fixture_ulaw(name)), 8000)
        factors.append(transcript.decode_seconds / transcript.seconds)
    return factors


async def tts_first_chunk() -> list[float]:
    engine = make_tts_engine(VoiceSettings()).engine  # the engine itself: a cache hit would measure nothing
    timings = []
    for text in TTS_SAMPLES:
        started, first = time.perf_counter(), None
        async for _ in engine.synthesize(text, "zh"):  # drained: a generator left open leaves espeak running
            first = first or time.perf_counter() - started
        timings.append(first)
    return timings


async def call_latencies(gateway: str, callers: list[tuple[str, str]], fixtures: list[str]) -> list[float]:
    """One caller: speaks every fixture, opening a new call whenever the bot ends one."""
    latencies: list[float] = []
    pending = list(fixtures)
    while pending and callers:
        async with FakeCarrier(gateway, *callers.pop()) as carrier:
            await carrier.bot_reply()
            while pending and not carrier.closed.is_set():
                await carrier.say(fixture_ulaw(pending.pop(0)))
                try:
                    await carrier.bot_reply(timeout=REPLY_TIMEOUT_SECONDS)
                except TimeoutError:
                    pass  # nothing usable was heard (the ASR rejected it): no reply, no sample
            latencies += carrier.latencies
    return latencies


async def run(gateway: str, callers: list[tuple[str, str]], fixtures: list[str], concurrency: int) -> list[float]:
    """callers: (borrower id, number on file); each call rings from the borrower's number."""
    shares = [callers[i::concurrency] for i in range(concurrency)]
    results = await asyncio.gather(*(call_latencies(gateway, share, fixtures) for share in shares))
    return [latency for result in results for latency in result]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--fixtures", type=int, default=20, help="how many of the 20 fixture utterances each call speaks")
    parser.add_argument("--early-asr-ms", type=int, default=None,
                        help="COLLECTIONS_VOICE_SPECULATIVE_ASR_AFTER_MS for the gateway (0: decode only at end of turn)")
    args = parser.parse_args()
    fixtures = sorted(path.name for path in FIXTURES.glob("d*.wav"))[: args.fixtures]
    gateway_env = {} if args.early_asr_ms is None else {"COLLECTIONS_VOICE_SPECULATIVE_ASR_AFTER_MS": str(args.early_asr_ms)}
    settings = VoiceSettings(**({} if args.early_asr_ms is None else {"speculative_asr_after_ms": args.early_asr_ms}))

    rtf = asr_rtf(fixtures)
    ttfc = asyncio.run(tts_first_chunk())
    print(f"ASR (Whisper base int8, {settings.asr_cpu_threads} threads) on 8 kHz μ-law fixtures: "
          f"RTF p50 {statistics.median(rtf):.2f}  p95 {percentile(rtf, 0.95):.2f}  (n={len(rtf)})")
    print(f"TTS ({settings.tts_engine}) time to first chunk, uncached: p50 {statistics.median(ttfc) * 1000:.0f} ms  "
          f"max {max(ttfc) * 1000:.0f} ms  (n={len(ttfc)})\n")

    with benchmark_stack("voice", borrowers=200, port_base=26000, redis_db=9, gateway_env=gateway_env) as (stack, ledger):
        zh_ids = [(borrower_id, ledger.contact_phone(borrower_id)) for borrower_id in chinese_borrower_ids(ledger, 200)]
        silence_ms = settings.end_of_turn_silence_ms
        print("end of borrower speech → first bot audio byte (includes the "
              f"{silence_ms} ms end-of-turn silence the VAD waits for; early ASR after "
              f"{settings.speculative_asr_after_ms} ms of silence)")
        print("calls | p50 ms | p95 ms | p50 minus silence wait | n")
        for concurrency in args.concurrency:
            ids, zh_ids = zh_ids[: concurrency * 6], zh_ids[concurrency * 6:]
            latencies = asyncio.run(run(stack.gateway_url, ids, fixtures, concurrency))
            p50, p95 = statistics.median(latencies) * 1000, percentile(latencies, 0.95) * 1000
            print(f"{concurrency:5d} | {p50:6.0f} | {p95:6.0f} | {p50 - silence_ms:22.0f} | {len(latencies)}")


if __name__ == "__main__":
    main()
