"""What the borrower heard: the playback clock between sent audio and returned marks."""
from __future__ import annotations

import pytest

from voice.playback import Interrupted, Playback, Reply, SENDING_LEAD_SECONDS, ends_reply
from voice.tts.text import split_sentences


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sending_is_paced_to_stay_a_little_ahead_of_playback():
    clock = Clock()
    playback = Playback(clock)
    utterance = playback.begin("您好")
    waits = [playback.sent(utterance, 0.02) for _ in range(50)]  # one second sent at once
    assert waits[0] == 0.0
    assert waits[-1] == pytest.approx(1.0 - SENDING_LEAD_SECONDS)


def test_a_returned_mark_means_that_utterance_and_every_earlier_one_was_heard():
    playback = Playback(Clock())
    first, second = playback.begin("一"), playback.begin("二")
    assert playback.playing
    assert playback.acknowledged(first.mark) and playback.playing
    assert not playback.acknowledged("u99")
    assert playback.acknowledged(second.mark) and not playback.playing


def test_interrupting_halfway_keeps_the_half_that_was_heard():
    clock = Clock()
    playback = Playback(clock)
    spoken = playback.begin("您本期应还金额为三千元")  # 10 characters
    for _ in range(100):
        playback.sent(spoken, 0.02)  # 2 seconds of audio
    playback.finished_sending(spoken)
    queued = playback.begin("请问您今天能还吗")
    playback.sent(queued, 0.02)
    clock.now += 1.0
    assert playback.interrupt() == [Interrupted("您本期应还金额为三千元", "您本期应还"), Interrupted("请问您今天能还吗", "")]
    assert not playback.playing


def test_an_utterance_cut_while_still_being_synthesised_is_measured_against_its_expected_length():
    clock = Clock()
    playback = Playback(clock)
    spoken = playback.begin("一二三四五六七八")  # about 2 s of speech at the default pace
    playback.sent(spoken, 0.5)
    clock.now += 0.5
    assert playback.interrupt() == [Interrupted("一二三四五六七八", "一二")]


def test_a_reply_spoken_sentence_by_sentence_is_cut_as_one_reply_with_its_heard_sentences():
    """The first sentence's mark came back; the second was cut halfway; the third never started: the interruption
    is the whole reply, heard up to half of the second sentence, once."""
    clock = Clock()
    playback = Playback(clock)
    reply = Reply("好的，分三期方案已确认。第一期请在十二月前还款。请问还有其他需要吗？")
    utterances, offset = [], 0
    for sentence in split_sentences(reply.text):
        utterances.append(playback.begin(sentence, reply, offset))
        offset += len(sentence)
    first, second, third = utterances
    assert [ends_reply(u.mark) for u in utterances] == [False, False, True]
    for _ in range(150):
        playback.sent(first, 0.02)  # 3 s
    playback.finished_sending(first)
    clock.now += 3.0
    assert playback.acknowledged(first.mark)
    for _ in range(100):
        playback.sent(second, 0.02)  # 2 s, 12 characters: half heard
    playback.finished_sending(second)
    playback.sent(third, 0.02)
    clock.now += 1.0
    assert playback.interrupt() == [Interrupted(reply.text, "好的，分三期方案已确认。第一期请在十")]
    assert not playback.playing


def test_a_reply_cut_before_its_first_sentence_played_was_not_heard_at_all():
    playback = Playback(Clock())
    reply = Reply("您同意这个方案吗？确认请按1，不同意请按2。")
    first = playback.begin(split_sentences(reply.text)[0], reply, 0)
    assert playback.interrupt() == [Interrupted(reply.text, "")] and first.mark.endswith("+")
