"""ASR alone under concurrent calls: how long a turn waits for its decode (queue + decode) when several callers share
one engine and decode pool, as the gateway's calls do, without Rasa, TTS or the network.

    .venv/bin/python -m benchmarks.asr_concurrency [--calls 4] [--workers 2] [--threads 2] [--numbers-padding 15]
        [--redecode id_answer|numbers|off]

Each caller speaks the 20 synthetic fixtures in order (8 kHz μ-law round trip), sleeping each utterance's length,
then waits for its decode and a 1.5–2.5 s reply before the next; callers start 0.9 s apart, so they reach the same
utterances at nearly the same time, as `benchmarks.voice_latency`'s callers do. Prints p50/p95/max of the wait, the
process's CPU seconds for the whole run (on a shared machine, the cost; the wall times depend on the other load,
printed as the load average before and after), and the slowest decodes (`*`: decoded again with the careful window;
--redecode: which short results are).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import get_args

from benchmarks.call_path import telephone_ulaw
from configuration.settings import CarefulRedecode, VoiceSettings
from tests.unit.voice_engines import ZH_MANIFEST
from voice.asr import make_asr_engine
from voice.asr.evaluation import read_manifest
from voice.audio_files import read_wav_pcm16
from voice.codecs import ulaw_to_pcm16


def main() -> None:
    defaults = VoiceSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--workers", type=int, default=defaults.asr_workers)
    parser.add_argument("--threads", type=int, default=defaults.asr_cpu_threads)
    parser.add_argument("--numbers-padding", type=float, default=defaults.asr_numbers_padding_seconds)
    parser.add_argument("--redecode", choices=get_args(CarefulRedecode), default=defaults.asr_careful_redecode)
    args = parser.parse_args()
    engine = make_asr_engine(VoiceSettings(asr_workers=args.workers, asr_cpu_threads=args.threads,
                                           asr_numbers_padding_seconds=args.numbers_padding,
                                           asr_careful_redecode=args.redecode))
    audio = []
    for reference in read_manifest(ZH_MANIFEST):
        line = ulaw_to_pcm16(telephone_ulaw(*read_wav_pcm16(reference.path)))
        audio.append((reference.path.stem, line))
    engine.transcribe(audio[0][1], 8000)  # warm-up
    waits: list[tuple[float, str, bool]] = []
    lock = threading.Lock()

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        def caller(index: int) -> None:
            pause = random.Random(index)
            time.sleep(index * 0.9)
            for name, pcm16 in audio:
                time.sleep(len(pcm16) / 2 / 8000)
                started = time.perf_counter()
                transcript = pool.submit(engine.transcribe, pcm16, 8000).result()
                with lock:
                    waits.append((time.perf_counter() - started, name, transcript.full_window))
                time.sleep(1.5 + pause.random())

        cpu, wall, load = time.process_time(), time.perf_counter(), os.getloadavg()[0]
        callers = [threading.Thread(target=caller, args=(index,)) for index in range(args.calls)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join()
    ordered = sorted(wait for wait, _, _ in waits)
    p95 = ordered[round(0.95 * (len(ordered) - 1))]
    slowest = " ".join(f"{name}{'*' if careful else ''}" for _, name, careful in sorted(waits, reverse=True)[:8])
    print(f"{args.calls} calls, {args.workers} workers x {args.threads} threads, careful window "
          f"{args.numbers_padding:g} s for {args.redecode}: wait for the decode p50 "
          f"{statistics.median(ordered) * 1000:.0f} ms  "
          f"p95 {p95 * 1000:.0f} ms  max {ordered[-1] * 1000:.0f} ms  (n={len(ordered)}); CPU "
          f"{time.process_time() - cpu:.1f} s over {time.perf_counter() - wall:.0f} s; load average "
          f"{load:.1f} → {os.getloadavg()[0]:.1f}; slowest: {slowest}", flush=True)


if __name__ == "__main__":
    main()
