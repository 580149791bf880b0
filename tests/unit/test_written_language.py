"""The reply language follows what the borrower writes only when the text clearly tells."""
from __future__ import annotations

import pytest

from chinese_text.language import written_language


@pytest.mark.parametrize(("text", "language"), [
    ("是我", "zh"), ("OK的", "zh"), ("I can pay 300 tomorrow", "en"), ("Speaking.", "en"), ("wrong number buddy", "en"),
    ("2k next friday", "en"),
    # Nothing to go by: the conversation keeps its language.
    ("4417", None), ("ok", None), ("yes", None), ("mhm", None), ("ksjdhfkjs", None), ("asdfgh lkj", None),
    ("wo bu shi ben ren", None),
])
def test_only_clear_text_sets_the_language(text, language):
    assert written_language(text) == language
