"""The real ASR on recorded human Mandarin (AISHELL-1 read speech), over a phone line: transcribed as files and
spoken on a call. The recordings come from other public repositories and so live in the steering repo's
shared/ (tests/unit/voice_engines.py: ZH_HUMAN_MANIFEST); without them these tests cannot run and say so."""
from __future__ import annotations

import statistics

import pytest

from benchmarks.call_path import CallPath, telephone_ulaw
from configuration.settings import VoiceSettings
from tests.unit.voice_engines import ZH_HUMAN_MANIFEST, shared_asr_engine
from voice.asr.evaluation import character_error_rate, read_manifest
from voice.audio_files import read_wav_pcm16
from voice.codecs import ulaw_to_pcm16

pytestmark = pytest.mark.skipif(not ZH_HUMAN_MANIFEST.is_file(),
                                reason=f"no human recordings at {ZH_HUMAN_MANIFEST.parent}")
# Measured by benchmarks/asr_accuracy.py (Whisper base, domain prompt, beam 1) on the 6 AISHELL-1 utterances:
# mean CER 0.219 over the phone line as files and 0.210 on a call (README). A bound well above that still catches
# recognition that broke (wrong language or rate, garbled audio: CER near 1).
MAX_MEAN_CER_HUMAN_8K = 0.35


@pytest.fixture(scope="module")
def human_recordings():
    return [(reference, telephone_ulaw(*read_wav_pcm16(reference.path))) for reference in read_manifest(ZH_HUMAN_MANIFEST)]


def test_human_speech_over_a_phone_line_transcribes_within_the_measured_error_rate(human_recordings):
    engine = shared_asr_engine()
    errors = [character_error_rate(reference.text, engine.transcribe(ulaw_to_pcm16(ulaw), 8000).text)
              for reference, ulaw in human_recordings]
    assert statistics.mean(errors) <= MAX_MEAN_CER_HUMAN_8K, errors


def test_human_speech_spoken_on_a_call_reaches_the_nlu_within_the_measured_error_rate(human_recordings):
    call_path = CallPath(shared_asr_engine(), VoiceSettings())
    try:
        errors = [character_error_rate(reference.text, "".join(call_path.heard(ulaw)))
                  for reference, ulaw in human_recordings]
    finally:
        call_path.close()
    assert statistics.mean(errors) <= MAX_MEAN_CER_HUMAN_8K, errors
