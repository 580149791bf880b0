"""jieba tokenisation with the project's finance dictionary, as Rasa's JiebaTokenizer does it.

Shared by tests and the training-data alignment checker so entity spans can be checked
against the same token boundaries Rasa will see (``jieba.tokenize(text)``, default HMM).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

# Rasa's JiebaTokenizer loads every file in this folder (config.yml: dictionary_path).
USERDICT_PATH = Path(__file__).with_name("jieba_dictionary") / "jieba_userdict.txt"

_lock = threading.Lock()
_loaded = False


def load_jieba_userdict(path: Path = USERDICT_PATH) -> None:
    """Load the user dictionary into jieba's default tokenizer once per process."""
    global _loaded
    with _lock:
        if _loaded:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.load_userdict(str(path))
        _loaded = True


def tokenize(text: str) -> list[str]:
    """Token strings for ``text`` (no normalisation: pass simplified text)."""
    import jieba

    load_jieba_userdict()
    return [word for word, _start, _end in jieba.tokenize(text)]
