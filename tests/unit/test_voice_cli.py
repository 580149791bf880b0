"""`python -m voice transcribe` as operators and CI run it: a real process, real files, JSON lines out."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.voice_engines import ZH_FIXTURES
from voice.audio_files import read_wav_pcm16
from voice.codecs import pcm16_to_ulaw, resample_pcm16
from configuration.settings import ROOT


def _run(*args: str) -> tuple[int, list[dict]]:
    done = subprocess.run([sys.executable, "-m", "voice", "transcribe", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def test_wav_files_print_one_json_line_each_and_bad_files_do_not_stop_the_rest(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00garbage")
    good = ZH_FIXTURES / "d11.wav"

    returncode, lines = _run(str(corrupt), str(tmp_path / "missing.wav"), str(good))

    assert returncode == 1
    assert [line["file"] for line in lines] == [str(corrupt), str(tmp_path / "missing.wav"), str(good)]
    assert "not a PCM WAV" in lines[0]["error"] and "no such file" in lines[1]["error"]
    result = lines[2]
    assert {"file", "text", "language", "seconds", "rtf"} <= result.keys()
    assert "转人工" in result["text"] and result["language"] == "zh"
    assert result["seconds"] == 2.01 and result["rtf"] > 0


def test_raw_mulaw_at_8k_is_transcribed(tmp_path: Path) -> None:
    pcm16, rate = read_wav_pcm16(ZH_FIXTURES / "d03.wav")
    phone_audio = tmp_path / "d03.ulaw"
    phone_audio.write_bytes(pcm16_to_ulaw(resample_pcm16(pcm16, rate, 8000)))

    returncode, [line] = _run("--ulaw", "--rate", "8000", str(phone_audio))

    assert returncode == 0 and "3821" in line["text"], line
    assert abs(line["seconds"] - 2.71) < 0.01
