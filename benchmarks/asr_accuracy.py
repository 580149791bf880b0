"""ASR accuracy and speed on the Mandarin fixtures: CER and real-time factor, wideband (16 kHz) and
telephone quality (8 kHz μ-law round trip), for each way of biasing decoding with the domain vocabulary.

    .venv/bin/python -m benchmarks.asr_accuracy [--biasing none prompt hotwords prompt+hotwords] [--beam 1]

CER is measured on the normalised text the NLU receives (Simplified, numerals as digits, no punctuation).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from voice.asr import make_asr_engine
from voice.asr.evaluation import character_error_rate, read_manifest
from voice.audio_files import read_wav_pcm16
from voice.codecs import pcm16_to_ulaw, resample_pcm16, ulaw_to_pcm16
from configuration.settings import ROOT, VoiceSettings

MANIFEST = ROOT / "tests" / "fixtures" / "audio" / "zh" / "manifest.tsv"
BIASING = ("none", "prompt", "hotwords", "prompt+hotwords")


def telephone_quality(pcm16: bytes, rate: int) -> tuple[bytes, int]:
    """What the bot hears over a phone line: 8 kHz, G.711 μ-law encoded and decoded."""
    return ulaw_to_pcm16(pcm16_to_ulaw(resample_pcm16(pcm16, rate, 8000))), 8000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--biasing", nargs="+", choices=BIASING, default=list(BIASING))
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--verbose", action="store_true", help="print every hypothesis")
    args = parser.parse_args()

    references = read_manifest(args.manifest)
    wideband = [read_wav_pcm16(reference.path) for reference in references]
    channels = {"16k": wideband, "8k-ulaw": [telephone_quality(pcm, rate) for pcm, rate in wideband]}
    print(f"{len(references)} utterances, beam {args.beam}")
    print(f"{'biasing':<16} {'audio':<8} {'mean CER':>9} {'median':>7} {'max':>6} {'RTF':>6} {'rejected':>8}")
    for biasing in args.biasing:
        engine = make_asr_engine(VoiceSettings(asr_biasing=biasing, asr_beam_size=args.beam))
        engine.transcribe(*wideband[0])  # warm-up: the first decode pays one-off allocation costs
        for channel, audio in channels.items():
            errors, decode, seconds, rejected = [], 0.0, 0.0, 0
            for reference, (pcm16, rate) in zip(references, audio):
                started = time.perf_counter()
                transcript = engine.transcribe(pcm16, rate)
                decode += time.perf_counter() - started
                seconds += transcript.seconds
                rejected += transcript.rejected is not None
                errors.append(character_error_rate(reference.text, transcript.text))
                if args.verbose:
                    print(f"  {reference.path.name} {errors[-1]:.2f} {reference.text} | {transcript.raw_text} "
                          f"{transcript.rejected or ''}")
            print(f"{biasing:<16} {channel:<8} {statistics.mean(errors):9.3f} {statistics.median(errors):7.3f} "
                  f"{max(errors):6.2f} {decode / seconds:6.2f} {rejected:8d}", flush=True)


if __name__ == "__main__":
    main()
