"""Voice-call latency and what it costs in recognition: end of the borrower's speech → first byte of the bot's reply
audio, over the Twilio media-stream WebSocket of a real stack it starts itself, with 1, 2 and 4 concurrent calls,
and beside each row the CER of the text the dialogue received on those calls (read from the call's stored
transcript), so speed is never bought with accuracy. The fixtures' CER as whole files (8 kHz μ-law) is printed
too, with ASR real-time factor and TTS time-to-first-chunk (uncached).

    .venv/bin/python -m benchmarks.voice_latency [--concurrency 1 2 4] [--fixtures 20] [--set NAME=VALUE ...]
        [--port-base 26000]

`--set` gives the gateway a voice setting (COLLECTIONS_VOICE_<NAME>, e.g. `--set end_of_turn_silence_ms=400`),
for A/B runs. Each call streams the fixture utterances in real time as 20 ms μ-law frames, followed by the silence
a carrier sends; a call the dialogue ends (e.g. 'stop calling me') is replaced by a new one. Per concurrency, where
the time goes, from the gateway's own histograms (means): one ASR decode (without its wait for the pool), the
Rasa round trip, TTS to its first chunk, and the whole end of speech → first frame sent as the gateway sees it.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field

import httpx
import redis

from benchmarks.bench_stack import benchmark_stack, chinese_borrower_ids
from configuration.settings import VoiceSettings
from tests.e2e.phone import FIXTURES, FakeCarrier, fixture_ulaw
from tests.unit.metrics_scrape import Samples, moved, scrape
from voice.asr import make_asr_engine
from voice.asr.evaluation import character_error_rate, read_manifest
from voice.codecs import ulaw_to_pcm16
from voice.tts import make_tts_engine

REPLY_TIMEOUT_SECONDS = 20.0
METRICS_TOKEN = "voice-latency-benchmark-token"
TTS_SAMPLES = ["您好，请问是张伟先生本人吗？", "身份核实通过，谢谢您的配合。",
               "好的，已为您记录：11月27日还款2,000元。", "请问您今天能先还一部分吗？"]
# The gateway's histograms (name, labels) whose mean shows where a turn's time goes.
STAGES = (("ASR decode", "collections_asr_seconds", {}),
          ("Rasa", "collections_rasa_seconds", {"outcome": "answered"}),
          ("TTS 1st chunk", "collections_tts_first_chunk_seconds", {"channel": "phone"}),
          ("speech→audio (gateway)", "collections_call_reply_audio_seconds", {"channel": "phone"}))


@dataclass
class CallsMeasured:
    latencies: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)  # CER of what the dialogue received, one per utterance spoken
    replies: list[tuple[str, float]] = field(default_factory=list)  # (fixture, latency) for replies to a fixture

    def add(self, other: "CallsMeasured") -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.replies += other.replies

    def tail(self, fraction: float = 0.9) -> str:
        """Which utterances the replies at or above the `fraction` percentile answered, slowest first."""
        if not self.latencies:
            return ""
        threshold = percentile(self.latencies, fraction)
        slow = sorted((latency, name) for name, latency in self.replies if latency >= threshold)[::-1]
        return ", ".join(f"{name.removesuffix('.wav')} {latency * 1000:.0f}" for latency, name in slow)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(fraction * len(ordered))) - 1)]


def file_recognition(settings: VoiceSettings, fixtures: list[str],
                     references: dict[str, str]) -> tuple[list[float], list[float], int]:
    """RTF and CER of each fixture decoded as a whole 8 kHz μ-law file, and how many the engine decoded (again)
    with its full window."""
    engine = make_asr_engine(settings)
    engine.transcribe(ulaw_to_pcm16(fixture_ulaw(fixtures[0])), 8000)  # warm-up
    factors, errors, full_windows = [], [], 0
    for name in fixtures:
        transcript = engine.transcribe(ulaw_to_pcm16(fixture_ulaw(name)), 8000)
        factors.append(transcript.decode_seconds / transcript.seconds)
        errors.append(character_error_rate(references[name], transcript.text))
        full_windows += bool(getattr(transcript, "full_window", False))
    return factors, errors, full_windows


async def tts_first_chunk(settings: VoiceSettings) -> list[float]:
    engine = make_tts_engine(settings).engine  # the engine itself: a cache hit would measure nothing
    timings = []
    for text in TTS_SAMPLES:
        started, first = time.perf_counter(), None
        async for _ in engine.synthesize(text, "zh"):  # drained: a generator left open leaves espeak running
            first = first or time.perf_counter() - started
        timings.append(first)
    return timings


async def one_caller(gateway: str, redis_url: str, callers: list[tuple[str, str]], fixtures: list[str],
                     references: dict[str, str]) -> CallsMeasured:
    """One caller: speaks every fixture, opening a new call whenever the bot ends one. What the dialogue received
    for an utterance is the borrower's words the transcript gained after it (all its turns, if the call cut it;
    nothing, if the ASR rejected it)."""
    measured = CallsMeasured()
    pending = list(fixtures)
    while pending and callers:
        async with FakeCarrier(gateway, *callers.pop(), redis_url=redis_url) as carrier:
            await carrier.bot_reply()
            while pending and not carrier.closed.is_set():
                name = pending.pop(0)
                before = len(await carrier.transcript())
                replied = len(carrier.latencies)
                await carrier.say(fixture_ulaw(name))
                try:
                    await carrier.bot_reply(timeout=REPLY_TIMEOUT_SECONDS, before=before)
                except TimeoutError:
                    pass  # nothing usable was heard (the ASR rejected it): no reply, no latency sample
                measured.replies += [(name, latency) for latency in carrier.latencies[replied:]]
                heard = "".join(entry["text"] for entry in (await carrier.transcript())[before:]
                                if entry["speaker"] == "borrower")
                measured.errors.append(character_error_rate(references[name], heard))
                if conversation_ended(redis_url, carrier.conversation_id):
                    await carrier.stop()  # the bot said goodbye: the carrier ends the stream, as Twilio does
                    break
            measured.latencies += carrier.latencies
    return measured


def conversation_ended(redis_url: str, conversation_id: str) -> bool:
    with redis.Redis.from_url(redis_url, decode_responses=True) as store:
        return store.hget(f"collections:gateway:{conversation_id}:meta", "ended") == "true"


async def run(gateway: str, redis_url: str, callers: list[tuple[str, str]], fixtures: list[str],
              references: dict[str, str], concurrency: int) -> CallsMeasured:
    """callers: (borrower id, number on file); each call rings from the borrower's number."""
    shares = [callers[i::concurrency] for i in range(concurrency)]
    measured = CallsMeasured()
    for result in await asyncio.gather(*(one_caller(gateway, redis_url, share, fixtures, references)
                                         for share in shares)):
        measured.add(result)
    return measured


async def gateway_samples(gateway: str) -> Samples:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        return await scrape(client, METRICS_TOKEN)


def stage_means(before: Samples, after: Samples) -> str:
    means = []
    for label, name, labels in STAGES:
        count = moved(before, after, f"{name}_count", **labels)
        mean = moved(before, after, f"{name}_sum", **labels) / count * 1000 if count else float("nan")
        means.append(f"{label} {mean:.0f}")
    return ", ".join(means)


def voice_setting(entry: str) -> tuple[str, str]:
    name, separator, value = entry.partition("=")
    if not (name and separator) or name not in VoiceSettings.model_fields:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME a voice setting, got {entry!r}")
    return name, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--fixtures", type=int, default=20, help="how many of the 20 fixture utterances each call speaks")
    parser.add_argument("--port-base", type=int, default=26000,
                        help="the stack's ports: Rasa +5, actions +55, gateway +3000 (another run beside it: another base)")
    parser.add_argument("--gateway-port", type=int, help="the gateway's port, if not port base + 3000")
    parser.add_argument("--redis-db", type=int, default=9, help="the stack's Redis database (emptied first)")
    parser.add_argument("--set", type=voice_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="a voice setting for the gateway (and this process's ASR and TTS measurements)")
    args = parser.parse_args()
    fixtures = sorted(path.name for path in FIXTURES.glob("d*.wav"))[: args.fixtures]
    references = {reference.path.name: reference.text for reference in read_manifest(FIXTURES / "manifest.tsv")}
    overrides = dict(args.set)
    settings = VoiceSettings(**overrides)
    gateway_env = {"COLLECTIONS_METRICS_TOKEN": METRICS_TOKEN,
                   **{f"COLLECTIONS_VOICE_{name.upper()}": value for name, value in overrides.items()}}

    rtf, file_errors, full_windows = file_recognition(settings, fixtures, references)
    ttfc = asyncio.run(tts_first_chunk(settings))
    print(f"settings: {' '.join(f'{name}={value}' for name, value in overrides.items()) or 'defaults'}")
    print(f"ASR (Whisper {settings.asr_model} {settings.asr_compute_type}, {settings.asr_cpu_threads} threads, "
          f"{settings.asr_workers} workers, beam {settings.asr_beam_size}, "
          f"padding {getattr(settings, 'asr_padding_seconds', 30):g} s, "
          f"numbers {getattr(settings, 'asr_numbers_padding_seconds', 30):g} s) "
          f"on 8 kHz μ-law fixture files: RTF p50 {statistics.median(rtf):.2f}  p95 {percentile(rtf, 0.95):.2f}  "
          f"mean CER {statistics.mean(file_errors):.3f}  careful (numbers) decodes {full_windows}  (n={len(rtf)})")
    print(f"TTS ({settings.tts_engine}) time to first chunk, uncached: p50 {statistics.median(ttfc) * 1000:.0f} ms  "
          f"max {max(ttfc) * 1000:.0f} ms  (n={len(ttfc)})\n")

    with benchmark_stack("voice", borrowers=200, port_base=args.port_base, redis_db=args.redis_db,
                         gateway_env=gateway_env, gateway_port=args.gateway_port) as (stack, ledger):
        zh_ids = [(borrower_id, ledger.contact_phone(borrower_id)) for borrower_id in chinese_borrower_ids(ledger, 200)]
        print(f"end of borrower speech → first bot audio byte (includes the {settings.end_of_turn_silence_ms} ms "
              f"end-of-turn silence the VAD waits for; early ASR after {settings.speculative_asr_after_ms} ms of "
              "silence); in-call CER: what the dialogue received, per utterance spoken")
        print("calls | p50 ms | p95 ms |  n  | in-call CER | file CER | where the time goes (means, ms)")
        for concurrency in args.concurrency:
            ids, zh_ids = zh_ids[: concurrency * 6], zh_ids[concurrency * 6:]
            before = asyncio.run(gateway_samples(stack.gateway_url))
            measured = asyncio.run(run(stack.gateway_url, stack.config.redis_url, ids, fixtures, references,
                                       concurrency))
            after = asyncio.run(gateway_samples(stack.gateway_url))
            latencies = measured.latencies
            p50, p95 = statistics.median(latencies) * 1000, percentile(latencies, 0.95) * 1000
            print(f"{concurrency:5d} | {p50:6.0f} | {p95:6.0f} | {len(latencies):3d} | "
                  f"{statistics.mean(measured.errors):11.3f} | {statistics.mean(file_errors):8.3f} | "
                  f"{stage_means(before, after)}", flush=True)
            print(f"      replies at or above p90, slowest first (fixture ms): {measured.tail()}", flush=True)


if __name__ == "__main__":
    main()
