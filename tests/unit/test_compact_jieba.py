"""jieba with its dictionary in a trie (rasa_runtime/compact_jieba.py, installed in every Rasa replica) cuts every
training line exactly as jieba's own dict does, with the project's user dictionary loaded on top, and answers the
frequency questions jieba asks alike: words, prefixes of words, strangers, and words added or removed later. Runs in
Rasa's own environment (.venv-rasa), as the Rasa server does."""
from __future__ import annotations

from tests.rasa_script import run_in_rasa

SAME_CUTS = r"""
import glob, json, random
import jieba
from rasa_runtime import compact_jieba

def loaded(tokenizer):
    for userdict in glob.glob("nlu/jieba_dictionary/*"):
        tokenizer.load_userdict(userdict)
    return tokenizer

plain = loaded(jieba.Tokenizer())
compact = jieba.Tokenizer()
compact_jieba.compact(compact)
loaded(compact)

lines = [line.strip()[2:] for path in glob.glob("data/**/*.yml", recursive=True)
         for line in open(path, encoding="utf-8") if line.strip().startswith("- ")]
lines += ["我下周一还款", "能不能分十二个月还？", "B超结果出来了", "ｉ可以先还五百块吗", ""]

def cuts(tokenizer):
    return [(tokenizer.lcut(line), tokenizer.lcut(line, HMM=False), tokenizer.lcut(line, cut_all=True),
             tokenizer.lcut_for_search(line), list(tokenizer.tokenize(line))) for line in lines]

same_cuts = cuts(plain) == cuts(compact)
random.seed(3)
words = random.sample(sorted(w for w, f in plain.FREQ.items() if f), 2000)
prefixes = random.sample(sorted(w for w, f in plain.FREQ.items() if not f), 2000)
strangers = ["逾期还款计划表格", "zzz", "还款吗", "B", "", "分期付款了"]
keys = words + prefixes + strangers
same_answers = all(plain.FREQ.get(key) == compact.FREQ.get(key) and (key in plain.FREQ) == (key in compact.FREQ)
                   for key in keys)
try:
    compact.FREQ["逾期还款计划表格"]
    stranger_raises = False
except KeyError:
    stranger_raises = True

for tokenizer in (plain, compact):
    tokenizer.add_word("协商还款计划", 50000)
    tokenizer.del_word("还款")
    tokenizer.suggest_freq(("分", "十二"), tune=True)
after_changes = cuts(plain) == cuts(compact) and all(plain.FREQ.get(k) == compact.FREQ.get(k) for k in
                                                      keys + ["协商还款计划", "协商", "还款", "分十二"])
with open(jieba.__path__[0] + "/dict.txt", encoding="utf-8") as dictionary:
    distinct_words = len({line.split(" ")[0] for line in dictionary})
print(json.dumps({"distinct words": distinct_words, "lines": len(lines), "same cuts": same_cuts, "keys": len(keys), "same answers": same_answers,
                  "stranger raises": stranger_raises, "total": [plain.total, compact.total],
                  "same after changes": after_changes, "words in trie": len(compact.FREQ._words)}))
"""


def test_the_trie_cuts_and_answers_as_jiebas_own_dictionary():
    (result,) = run_in_rasa(SAME_CUTS)
    assert result["lines"] > 3000 and result["keys"] == 4006
    assert result["same cuts"] and result["same answers"] and result["stranger raises"]
    assert result["total"][0] == result["total"][1]
    assert result["same after changes"]
    assert result["words in trie"] == result["distinct words"] > 300_000  # every word once ("B超" is listed twice)
