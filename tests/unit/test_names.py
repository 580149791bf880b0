"""A name the speaker gives for themselves is compared with the name on file: another name is a wrong party."""
from __future__ import annotations

import pytest

from chinese_text.names import names_someone_else, stated_name


@pytest.mark.parametrize(("said", "name"), [
    ("是我，我是李娜。", "李娜"), ("我叫张伟", "张伟"), ("是我是我", None), ("我是本人", None), ("我是他老婆", None),
    ("yes this is mike", "mike"), ("this is him", None), ("yeah it's me", None), ("I'm driving right now", None),
    ("my name is Maria Garcia", "maria garcia"), ("it's 4417", None),
])
def test_the_name_a_speaker_gives(said, name):
    assert stated_name(said) == name


@pytest.mark.parametrize(("said", "on_file", "someone_else"), [
    ("是我，我是李娜。", "张伟", True), ("是我，我是张伟", "张伟", False), ("我叫张伟", "张伟", False),
    ("是我，我是李娜", "李娜", False), ("yes this is mike", "John Smith", True), ("this is john", "John Smith", False),
    ("yes I am John Smith", "John Smith", False), ("speaking", "John Smith", False),
])
def test_only_a_name_that_is_not_the_borrowers_counts_as_someone_else(said, on_file, someone_else):
    assert names_someone_else(said, on_file) is someone_else
