"""Distress detection (zh Simplified/Traditional, en) and the ledger's borrower flags."""
from datetime import date

import pytest

from ledger.db import create_schema, make_engine, make_session_factory
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from compliance_filters.distress import DistressSignal, detect_distress, load_lexicon

TRIGGERS = [
    # self-harm: explicit mention always counts, negated or not (safety first)
    ("我真的不想活了", "self_harm", "zh"),
    ("我想死", "self_harm", "zh"),
    ("我不想死，只是想晚点还", "self_harm", "zh"),
    ("再这样逼我我就去自杀", "self_harm", "zh"),
    ("我要跳楼", "self_harm", "zh"),
    ("活着没意思", "self_harm", "zh"),
    ("还不上就一了百了吧", "self_harm", "zh"),
    ("你们这是要逼死我", "self_harm", "zh"),
    ("我不想活了，太累了", "self_harm", "zh"),
    ("我想自殺", "self_harm", "zh"),                    # Traditional
    ("活著沒意思", "self_harm", "zh"),                   # Traditional
    ("烦死了，真不想活了", "self_harm", "zh"),           # figurative part removed, real part kept
    ("I want to kill myself", "self_harm", "en"),
    ("I'm thinking about ending my life", "self_harm", "en"),
    ("sometimes I think about suicide", "self_harm", "en"),
    ("I just want to end it all", "self_harm", "en"),
    ("I don’t want to live anymore", "self_harm", "en"),
    # typed as people type: slang and texting shorthand read as the words they spell
    ("活着木有意思", "self_harm", "zh"),
    ("这样活着还有啥意思", "self_harm", "zh"),
    ("i wanna die", "self_harm", "en"),
    ("i dont wanna live anymore", "self_harm", "en"),
    ("idk, i just dont want to wake up tmrw", "self_harm", "en"),
    ("been thinking about ending it tbh", "self_harm", "en"),
    # severe illness
    ("我得了癌症", "severe_illness", "zh"),
    ("我爸住院了，下个月再说", "severe_illness", "zh"),
    ("正在化疗", "severe_illness", "zh"),
    ("家里有人重病", "severe_illness", "zh"),
    ("我老婆在ICU", "severe_illness", "zh"),
    ("我在醫院住院", "severe_illness", "zh"),            # Traditional
    ("I was diagnosed with cancer", "severe_illness", "en"),
    ("I'm going through chemotherapy", "severe_illness", "en"),
    ("my son is in the ICU", "severe_illness", "en"),
    ("my wife is in hospital", "severe_illness", "en"),
    # bereavement
    ("我妈上个月去世了", "bereavement", "zh"),
    ("父亲过世了", "bereavement", "zh"),
    ("我爸走了，家里在办丧事", "bereavement", "zh"),
    ("我爸上周走了", "bereavement", "zh"),
    ("老公過世了", "bereavement", "zh"),                 # Traditional
    ("my father passed away last week", "bereavement", "en"),
    ("my husband died", "bereavement", "en"),
    ("I have to arrange the funeral", "bereavement", "en"),
    # threatened
    ("有人威胁我", "threatened", "zh"),
    ("我被人恐吓了", "threatened", "zh"),
    ("催收的人说要打我", "threatened", "zh"),
    ("有人威脅我", "threatened", "zh"),                  # Traditional
    ("someone is threatening me", "threatened", "en"),
    ("a collector threatened me yesterday", "threatened", "en"),
    ("he said he will hurt me", "threatened", "en"),
]

NOT_TRIGGERS = [
    "笑死我了",
    "累死了",
    "忙死了",
    "今天热死了",
    "吓死我了",
    "气死我了，怎么又是你们",
    "饿死了，等会儿再说",
    "想死你了",
    "我下周一还款",
    "能不能分期",
    "我没有住院，只是忙",
    "不是癌症，就是感冒",
    "电脑死机了",
    "this is killing me, the interest is too high",
    "my phone died yesterday",
    "I'm dying to get this sorted",
    "I'll pay next Friday",
    "I was bored to death on hold",
    "I am not in hospital, just busy",
    "",
    "   ",
]


@pytest.mark.parametrize(("utterance", "kind", "language"), TRIGGERS)
def test_distress_is_detected(utterance, kind, language):
    signal = detect_distress(utterance)
    assert signal is not None, utterance
    assert (signal.kind, signal.language) == (kind, language)
    assert signal.matched


@pytest.mark.parametrize("utterance", NOT_TRIGGERS)
def test_everyday_speech_does_not_trigger(utterance):
    assert detect_distress(utterance) is None


def test_self_harm_outranks_other_signals_in_one_message():
    signal = detect_distress("我妈去世了，我也不想活了")
    assert signal == DistressSignal("self_harm", "不想活", "zh")


def test_every_kind_and_language_in_the_lexicon_is_detected_by_some_example():
    """The detector, run over the examples, finds every (kind, language) that distress.yml declares: a
    kind or language the detector stopped finding (or a lexicon entry with no example) fails here."""
    lexicon = load_lexicon()
    declared = {(kind, language) for kind, languages in lexicon.kinds.items() for language in languages}
    detected = {(signal.kind, signal.language)
                for signal in (detect_distress(utterance) for utterance, _, _ in TRIGGERS) if signal}
    assert declared and detected == declared, declared ^ detected


def test_bad_lexicon_is_rejected_naming_the_key(tmp_path):
    bad = tmp_path / "distress.yml"
    bad.write_text('order: [self_harm]\nfigurative: {zh: ["("]}\nnegation: {zh: "x", en: "y"}\nkinds: {}\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="figurative"):
        load_lexicon(bad)


# --- ledger flags -------------------------------------------------------------------------

@pytest.fixture
def ledger(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    seed_demo_portfolio(factory, count=3, as_of=date(2025, 3, 10))
    yield Ledger(factory)
    engine.dispose()


def test_flagging_twice_keeps_one_active_flag(ledger):
    ledger.flag_borrower("B000001", "distress", "self_harm: 不想活")
    ledger.flag_borrower("B000001", "distress", "self_harm: 想死")
    assert ledger.active_flags("B000001") == ("distress",)
    flags = ledger.flags_for("B000001")
    assert len(flags) == 1 and flags[0].reason == "self_harm: 不想活"


def test_cleared_flag_is_kept_in_history_and_can_be_raised_again(ledger):
    ledger.flag_borrower("B000001", "distress", "bereavement")
    assert ledger.clear_flag("B000001", "distress", "agent-007") is True
    assert ledger.active_flags("B000001") == ()
    assert ledger.clear_flag("B000001", "distress", "agent-007") is False
    ledger.flag_borrower("B000001", "distress", "again")
    history = ledger.flags_for("B000001")
    assert [f.cleared_by for f in history] == ["agent-007", None]
    assert history[0].cleared_at is not None and history[0].cleared_at.tzinfo is not None


def test_flags_of_different_kinds_are_independent(ledger):
    ledger.flag_borrower("B000001", "distress", "x")
    ledger.flag_borrower("B000001", "cease", "y")
    assert ledger.active_flags("B000001") == ("cease", "distress")
    assert ledger.active_flags("B000002") == ()


def test_a_person_clears_a_distress_flag_from_the_command_line(tmp_path):
    import subprocess
    import sys

    from ledger.db import create_schema, make_engine, make_session_factory
    from ledger.repository import Ledger
    from ledger.seed import seed_demo_portfolio

    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=5)
    ledger = Ledger(make_session_factory(engine))
    ledger.flag_borrower("B000001", "distress", "self_harm: 不想活了")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "ledger", "--url", url, *args],
                              capture_output=True, text=True)

    assert "[flag: distress]" in cli("show", "B000001").stdout
    assert cli("clear-flag", "B000001", "distress").returncode == 2  # --by is required
    assert cli("clear-flag", "B000001", "distress", "--by", "supervisor-7").returncode == 0
    assert ledger.active_flags("B000001") == ()
    assert cli("clear-flag", "B000001", "distress", "--by", "supervisor-7").returncode == 1


def test_a_word_that_merely_contains_a_distress_token_is_not_distress():
    assert detect_distress("you guys call me like 10 times a day, it's ridiculous") is None
