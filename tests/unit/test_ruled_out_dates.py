"""A date the borrower says will not work is no promise date ("今天全额不行，这礼拜天先还八百" means Sunday)."""
from __future__ import annotations

import pytest

from chinese_text.dates import ruled_out


def _ruled_out(text: str, date_words: str) -> bool:
    start = text.index(date_words)
    return ruled_out(text, start, start + len(date_words))


@pytest.mark.parametrize(("text", "date_words"), [
    ("今天全额不行，这礼拜天先还八百", "今天"),
    ("明天不方便，后天吧", "明天"),
    ("不是今天，是明天", "今天"),
    ("明天还不了，下周一", "明天"),
    ("明天的话不行", "明天"),
    ("today doesn't work, friday", "today"),
    ("not today, friday", "today"),
])
def test_a_date_said_not_to_work_is_ruled_out(text, date_words):
    assert _ruled_out(text, date_words)


@pytest.mark.parametrize(("text", "date_words"), [
    ("今天全额不行，这礼拜天先还八百", "这礼拜天"),
    ("不是今天，是明天", "明天"),
    ("能不能明天还", "明天"),             # asking, not ruling out
    ("明天还不了全部，先还一千", "明天"),   # a part may still come that day
    ("我明天可以还", "明天"),
    ("not today, friday", "friday"),
])
def test_a_date_offered_is_not(text, date_words):
    assert not _ruled_out(text, date_words)
