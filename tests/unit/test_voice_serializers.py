"""Wire protocols in isolation: Twilio Media Streams JSON and the browser's PCM16 + JSON control."""
from __future__ import annotations

import base64
import json

import pytest

from voice.codecs import pcm16_to_ulaw, ulaw_to_pcm16
from voice.frames import (
    BotText, CallStarted, CallStopped, ClearPlayback, Dtmf, InputAudio, OutputAudio, OutputMark, PlaybackMark,
    ProtocolNotice,
)
from voice.serializers.base import ProtocolError
from voice.serializers.browser import BrowserSerializer
from voice.serializers.twilio import TwilioSerializer

STREAM = "MZ0123456789abcdef0123456789abcdef"


def start_message(**parameters: str) -> str:
    return json.dumps({
        "event": "start", "sequenceNumber": "1", "streamSid": STREAM,
        "start": {"accountSid": "AC1", "streamSid": STREAM, "callSid": "CA1", "tracks": ["inbound"],
                  "customParameters": parameters,
                  "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}},
    })


def media_message(payload: bytes, stream: str = STREAM) -> str:
    return json.dumps({"event": "media", "streamSid": stream,
                       "media": {"track": "inbound", "chunk": "1", "timestamp": "20",
                                 "payload": base64.b64encode(payload).decode()}})


@pytest.fixture
def twilio() -> TwilioSerializer:
    serializer = TwilioSerializer()
    assert serializer.deserialize(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})) is None
    started = serializer.deserialize(start_message(call_token="signed-by-the-gateway"))
    assert started == CallStarted("CA1", STREAM, {"call_token": "signed-by-the-gateway"})
    return serializer


def test_twilio_media_is_decoded_from_base64_ulaw(twilio):
    ulaw = bytes(range(0, 256, 2)) + bytes(32)
    assert twilio.deserialize(media_message(ulaw)) == InputAudio(ulaw_to_pcm16(ulaw), 20)


def test_twilio_mark_dtmf_and_stop(twilio):
    assert twilio.deserialize(json.dumps({"event": "mark", "streamSid": STREAM, "mark": {"name": "u3"}})) == PlaybackMark("u3")
    assert twilio.deserialize(json.dumps({"event": "dtmf", "streamSid": STREAM,
                                          "dtmf": {"track": "inbound_track", "digit": "7"}})) == Dtmf("7")
    assert twilio.deserialize(json.dumps({"event": "stop", "streamSid": STREAM, "stop": {"callSid": "CA1"}})) == CallStopped()


def test_twilio_outbound_media_mark_and_clear(twilio):
    pcm = ulaw_to_pcm16(bytes(range(160)))
    media = json.loads(twilio.serialize(OutputAudio(pcm)))
    assert media["event"] == "media" and media["streamSid"] == STREAM
    assert base64.b64decode(media["media"]["payload"]) == pcm16_to_ulaw(pcm)
    assert json.loads(twilio.serialize(OutputMark("u1"))) == {"event": "mark", "streamSid": STREAM, "mark": {"name": "u1"}}
    assert json.loads(twilio.serialize(ClearPlayback())) == {"event": "clear", "streamSid": STREAM}
    assert twilio.serialize(BotText("你好")) is None


@pytest.mark.parametrize("raw, code", [
    ("not json", "malformed_json"),
    ("[1, 2]", "malformed_message"),
    (media_message(b"x").replace('"payload": "', '"payload": "!!'), "bad_payload"),
    (media_message(b"\xff" * 160, stream="MZother"), "unknown_stream"),
    (json.dumps({"event": "dtmf", "streamSid": STREAM, "dtmf": {"digit": "x"}}), "bad_dtmf"),
    (json.dumps({"event": "transfer", "streamSid": STREAM}), "unsupported_event"),
    (start_message(), "already_started"),
    ("x" * 20_000, "message_too_large"),
    (media_message(b"\xff" * 9000), "payload_too_large"),
    (b"\x00\x01", "binary_message"),
])
def test_twilio_refuses_malformed_messages_with_a_code(twilio, raw, code):
    with pytest.raises(ProtocolError) as refused:
        twilio.deserialize(raw)
    assert refused.value.code == code


def test_twilio_media_before_start_is_refused_and_nothing_is_sent():
    serializer = TwilioSerializer()
    with pytest.raises(ProtocolError) as refused:
        serializer.deserialize(media_message(b"\xff" * 160))
    assert refused.value.code == "not_started"
    assert serializer.serialize(OutputMark("u1")) is None


def test_twilio_start_with_another_codec_is_refused():
    message = json.loads(start_message())
    message["start"]["mediaFormat"] = {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}
    with pytest.raises(ProtocolError) as refused:
        TwilioSerializer().deserialize(json.dumps(message))
    assert refused.value.code == "unsupported_media_format"


def test_browser_audio_and_control_messages():
    browser = BrowserSerializer()
    assert browser.deserialize(b"\x01\x00" * 320) == InputAudio(b"\x01\x00" * 320)
    assert browser.deserialize('{"type": "mark", "name": "u2"}') == PlaybackMark("u2")
    assert browser.deserialize('{"type": "dtmf", "digit": "#"}') == Dtmf("#")
    assert browser.deserialize('{"type": "stop"}') == CallStopped()
    assert browser.serialize(OutputAudio(b"\x02\x00")) == b"\x02\x00"
    assert json.loads(browser.serialize(BotText("您好"))) == {"type": "bot", "text": "您好"}
    assert json.loads(browser.serialize(ClearPlayback())) == {"type": "clear"}
    assert json.loads(browser.serialize(ProtocolNotice("bad_audio", "odd")))["error"] == "bad_audio"


@pytest.mark.parametrize("raw, code", [
    (b"\x00" * 64_002, "message_too_large"),
    (b"\x00\x01\x02", "bad_audio"),
    ("{", "malformed_json"),
    ('{"type": "user", "text": "hi"}', "unsupported_message"),
    ("x" * 2000, "message_too_large"),
])
def test_browser_refuses_malformed_messages_with_a_code(raw, code):
    with pytest.raises(ProtocolError) as refused:
        BrowserSerializer().deserialize(raw)
    assert refused.value.code == code
