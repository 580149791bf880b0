"""Which messages count as words the assistant was never taught (the NLU's UnknownWordsGuard makes them
not-understood), and which bare replies are names rather than babble."""
from __future__ import annotations

import pytest

from chinese_text.names import looks_like_chinese_name
from chinese_text.unknown_words import content_words, only_unknown_words

TAUGHT = frozenset({"我", "周五", "还", "can", "pay", "tomorrow"})


def test_content_words_drop_punctuation_and_spaces_and_lower_case_letters():
    assert content_words(["I", " ", "Can", "，", "pay", "300", "！"]) == ["i", "can", "pay", "300"]


@pytest.mark.parametrize("words", [["阿巴", "阿巴", "阿巴"], ["asdfghjkl"], ["qwerty", "uiop"], ["balabala"]])
def test_a_line_of_untaught_words_is_unknown(words):
    assert only_unknown_words(words, TAUGHT)


@pytest.mark.parametrize("words", [
    ["我", "周五", "还"],          # all taught
    ["阿巴", "我"],                # one taught word is enough
    ["sdfsdf", "234"],            # a number means something
    ["4417"],
    [],                           # punctuation only: nothing to judge
])
def test_a_line_with_a_taught_word_or_a_number_is_not(words):
    assert not only_unknown_words(words, TAUGHT)


@pytest.mark.parametrize("word", ["确认", "收到", "明白"])
def test_a_common_chinese_word_the_training_data_lacks_is_still_a_word(word):
    assert not only_unknown_words([word], TAUGHT)


@pytest.mark.parametrize("word", ["阿巴", "巴拉", "呜呜"])
def test_a_rare_dictionary_syllable_string_is_not(word):
    assert only_unknown_words([word], TAUGHT)


def test_single_characters_common_in_the_dictionary_do_not_make_babble_words():
    assert only_unknown_words(["呜", "啦", "呜", "啦", "zzz"], TAUGHT)  # '呜啦呜啦 zzz' as jieba cuts it


@pytest.mark.parametrize("text", ["周宇航", "李娜", "王小明。"])
def test_a_bare_chinese_name_looks_like_a_name(text):
    assert looks_like_chinese_name(text)


@pytest.mark.parametrize("text", ["阿巴阿巴阿巴", "阿巴", "我是李娜", "周五还两千", "张"])
def test_babble_and_sentences_do_not(text):
    assert not looks_like_chinese_name(text)
