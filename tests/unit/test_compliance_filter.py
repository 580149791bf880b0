"""The outgoing-utterance compliance filter: what it blocks, what it must let through."""
from __future__ import annotations

import ast
import collections
import re
import string
from pathlib import Path

import pytest
import yaml

from actions.replies import REPLIES
from compliance_filters import Verdict, check
from compliance_filters.check import classifier_blocks
from compliance_filters.classifier import Classifier
from compliance_filters.normalise import normalise
from compliance_filters.rules import DEFAULT_RULES_PATH, default_rules, load_rules

ROOT = Path(__file__).resolve().parents[2]
VERIFIED = {"identity_verified": True}
UNVERIFIED = {"identity_verified": False}


def rules_only(text, context=VERIFIED):
    """The rule layers alone — deterministic, independent of the learned classifier."""
    return check(text, context, classifier=None)


BLOCKED = {
    "violence": [
        "再不还钱就打死你", "小心我们找人收拾你", "信不信我弄死你全家", "打 死 你", "打*死*你", "打.死.你",
        "我要殺了你", "你去死吧", "让你生不如死", "我们会找人打你", "da si ni", "我要打4你".replace("4", "死"),
        "大死你", "we will hurt you", "Someone will kill you if you don't pay", "我們會讓你好看",
    ],
    "third_party_disclosure": [
        "我们会联系你的家人", "明天通知您的单位领导", "我们已经告诉你同事了", "再不还就爆通讯录",
        "我们会打电话给您的父母", "你的通讯录我们都有", "讓你的家人都知道", "我们会联系你的 紧急联系人",
        "We will call your employer", "we are going to tell your family", "I'll contact your boss today",
        "我们会通知 your 家人".replace("your ", "你"),
    ],
    "impersonation": [
        "我是公安局经侦大队的", "我们是法院执行局的", "这里是派出所，请配合调查", "我是律师，代表平台起诉你",
        "法院已经给你立案", "我們是法院的", "我是ＸＸ市公安局民警", "This is officer Smith from the police",
        "we are calling on behalf of the court", "受法院委托通知你",
    ],
    "false_legal_consequences": [
        "不还钱你就要坐牢", "我们已经报警了，警察会上门抓你", "你会被刑事拘留", "你的子女不能上学",
        "冻结你家人的账户", "把你拉进黑名单，限高", "我們已經報警了", "坐 牢", "you will be arrested",
        "you'll go to jail if you don't pay", "police will come to your house", "明天就起诉你",
    ],
    "insult": [
        "你这个老赖", "你是傻逼吗", "你是煞笔", "沙比", "你是SB", "你是ＳＢ", "nmsl", "cnm", "tmd 还钱",
        "傻 B", "你真是个废物", "脑残", "you idiot", "what a loser", "pay up, deadbeat", "你就是个 loser",
        "你是不是sha bi", "白癡",
    ],
    "harassment": [
        "我们会天天打给你", "电话轰炸你", "半夜也会给你打电话", "打爆你的电话", "每天给你打电话直到你还钱",
        "让你不得安宁", "24小时打你", "we will keep calling you", "we'll call you every day until you pay",
    ],
    "public_shaming": [
        "把你的照片发到朋友圈", "我们会在你们小区贴海报", "发到群里让大家都知道", "拉个群曝光你",
        "朋友圈曝光", "把你的身份证发到网上", "We will post your photo online", "everyone will know",
        "讓所有人知道你欠錢",
    ],
    "inducing_borrowing": [
        "你可以去借网贷还", "赶紧找朋友借钱还", "信用卡套现还款", "去借高利贷也要还", "实在不行就卖肾",
        "找亲戚借钱还我们", "去别的平台借钱还", "take out a payday loan to pay us", "sell your kidney",
        "以贷养贷也行",
    ],
    "privacy_intimidation": [
        "我们知道你孩子在哪上学", "我们知道你住在哪", "我们清楚您的工作单位", "明天去你单位找你",
        "我们就在你家楼下", "我们会上门催收", "we know where you live", "we know where your kids go to school",
        "我們知道你住哪",
    ],
}


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for c, texts in BLOCKED.items() for t in texts]
)
def test_blocked_utterance_is_stopped_and_replaced(category, text):
    verdict = rules_only(text)
    assert not verdict.allowed, text
    assert category in verdict.categories, (text, verdict)
    assert verdict.replacement
    assert all(r.split("-")[0] in {c_prefix(c) for c in verdict.categories} for r in verdict.rules)


def c_prefix(category):
    return default_rules().categories[category].prefix


def test_the_rules_alone_block_at_least_six_examples_of_every_category():
    """Counts verdicts, not table rows: every category in rules.yml must really block six examples."""
    rules = default_rules()
    for category in rules.categories:
        if category != "disclosure_before_verification":
            blocked = [text for text in BLOCKED.get(category, [])
                       if category in rules_only(text).categories]
            assert len(blocked) >= 6, (category, blocked)


MUST_PASS = [
    # lawful facts
    "逾期记录会按规定上报征信",
    "如协商不成，我们可能依法提起诉讼",
    "根据合同约定，逾期会产生逾期费用",
    "按照借款合同，逾期后会按日计收罚息",
    "Late payments may be reported to credit bureaus as permitted by law.",
    # offers
    "如果一次还清有困难，可以为您申请分期",
    "根据减免政策，可以为您减免部分逾期费用",
    "您可以通过官方App还款，也可以转人工专员商量方案",
    # empathy
    "理解您现在心情不好，我们一起想办法",
    "非常理解您的困难，您的家人一定也很担心您",
    "I understand this is a difficult time for you.",
    # anti-fraud warnings
    "有人冒充公安说要抓您，这是诈骗，请报警",
    "如果有人自称法院工作人员要求转账，请拨打110",
    "如有人假冒我们的工作人员说要上门抓人，请不要相信，立即报警",
    "请勿相信任何自称律师、要求您向个人账户转账的人，谨防诈骗",
    "If someone claims to be the police and says you will be arrested, it is a scam; report it.",
    # negated threats
    "我们不会联系您的家人或同事",
    "我们绝不会上门",
    "不会影响您的家人",
    "我们从不会联系您的通讯录",
    "我们不会把您的照片发到朋友圈，您的信息严格保密",
    "我们不会在晚上十点后给您打电话",
    "您不会因为逾期坐牢，请放心",
    "we will never contact your employer",
    "We won't tell your family about this debt.",
    "我们也不会要求您去借网贷还款",
    "我们无权冻结您家人的账户", "千万别去借高利贷还款", "我们不会因为您没接电话就联系您的家人",
    "我们不会在您的朋友圈、微信群或者任何网站曝光您的信息",
    # a legal consequence with the element or the court it needs; a claim named to be refuted
    "恶意透支信用卡且经催收仍不归还的才可能涉及刑事责任", "限制高消费是法院对被执行人采取的措施",
    "冻结家属账户的说法是错误的", "起诉需要法院立案受理", "骗子常说“不还钱就上门抓人”，请提高警惕",
    # advice against borrowing, and a hypothetical the borrower may meet
    "拆东墙补西墙只会让问题更严重", "高利贷和裸贷都是违法的", "如果您发现自己的信息被人挂到网上，可以向网信部门举报",
    "很多人借网贷还信用卡，最后债务越滚越大", "不要为了还钱去做违法的事情，比如套现或者借高利贷",
    "有人说您家人的账户会被冻结，这是吓唬人的话", "您听到的“欠钱要坐牢”是一种误解",
    "催收时威胁借款人“坐牢”“上黑名单”，违反《信用卡业务管理办法》第六十八条",
    "法院可以对失信被执行人采取限制高消费措施", "信用卡诈骗罪要求以非法占有为目的",
    "这是系统群发的还款提醒短信", "很多人以为欠钱会坐牢，其实民事欠款不会", "拘留、判刑都需要经过司法程序",
    "有的平台会把逾期用户挂出来，这是违法的", "说逾期会被“全国通缉”的，都是在吓唬您",
    # others' conduct named with its sanction; advice against borrowing over a list
    "暴力催收可能构成催收非法债务罪，会被判刑", "催收人员在朋友圈曝光借款人，已被法院判决侵犯名誉权",
    "请远离各类网贷、套现中介", "有不法分子诱导借款人“撸口子”、借新还旧，请提高警惕",
    "Your kids will not be affected by this.", "A criminal record is only for crimes, not unpaid bills.",
    "Only a judge can issue an arrest warrant.", "There are no stupid questions here.",
    "Please shred the old statement rather than putting it in the trash.",
    "A collector who calls people deadbeats is breaking the law.",
    # ordinary words that look like evasion targets
    "请问谁不方便接电话", "沙发上的文件", "我们一直打不通您的电话，请问您现在方便吗",
    "您可以找公司客服咨询", "请您先去四川的营业网点", "这是SBA贷款的说明",
]


@pytest.mark.parametrize("text", MUST_PASS)
def test_lawful_and_reassuring_utterances_pass(text):
    verdict = rules_only(text)
    assert verdict.allowed, (text, verdict)


def test_negation_does_not_excuse_a_conditional_threat():
    assert not rules_only("你不还钱我们就联系你的家人").allowed
    assert not rules_only("我们不会只打电话，还会联系你的家人").allowed
    assert not rules_only("不要逼我们联系你的家人").allowed
    assert not rules_only("if you don't pay we will call your employer").allowed
    assert not rules_only("别以为我们不敢联系你的家人").allowed
    assert not rules_only("你以为我们不会因为这点钱就联系你家人？").allowed
    assert not rules_only("你会坐牢，这不是吓唬你").allowed
    assert not rules_only("你家人、同事、朋友我们都会通知").allowed
    assert not rules_only("你就等着“坐牢”吧").allowed
    assert not rules_only("我说了你会坐牢，这是违法的后果").allowed
    assert not rules_only("去借高利贷还我们，风险你自己担").allowed
    assert not rules_only("很多人以为欠钱不会坐牢，其实你会坐牢").allowed
    assert not rules_only("你不还钱，我们就群发给你所有亲戚").allowed
    assert not rules_only("我们不会联系您的家人或同事我们会联系你的家人").allowed
    assert not rules_only("催收员马上上门抓你，你这是违法").allowed
    assert not rules_only("Your children won't be allowed to go to school.").allowed
    assert not rules_only("Your kids will be kicked out of school.").allowed
    assert not rules_only("You are so stupid.").allowed
    assert not rules_only("We call people like you scum, report that if you want.").allowed
    assert not rules_only("我们是催收公司的，你不还就去坐牢，这是违法的").allowed
    assert not rules_only("We will call your employer您好").allowed  # Latin run into Chinese still ends a word


def test_anti_fraud_framing_does_not_excuse_our_own_threat():
    assert not rules_only("有人冒充公安，这是诈骗，我们会联系你的家人").allowed
    assert not rules_only("有人冒充公安说要抓您，其实我们真的会抓你，请报警").allowed


def test_echoed_borrower_words_are_not_the_bot_insulting():
    context = {**VERIFIED, "borrower_text": "你们都是傻逼，滚"}
    assert check("您说“你们都是傻逼”，我们理解您很生气", context, classifier=None).allowed
    assert check("您刚才说你们都是傻逼。我们理解您很生气", context, classifier=None).allowed
    # Quoting words the borrower never said is not an echo.
    assert not check("您说“你是废物”，我们理解", context, classifier=None).allowed
    # The bot's own insult outside the echo still counts.
    assert not check("您说“你们都是傻逼”，你才是傻逼", context, classifier=None).allowed


def test_english_echo():
    context = {**VERIFIED, "borrower_text": "you are all idiots"}
    assert check('You said "you are all idiots". I understand you are upset.', context, classifier=None).allowed


# --- the context rule ---------------------------------------------------------------------------

BOT_DEBT_LINE = (
    "您在安信消费金融的借款当前应还12,345.67元（本金11,000元、利息890.67元、逾期费用455元），"
    "到期日是11月8日，目前已逾期15天。请问是什么原因导致逾期的呢？"
)
BOT_PLAIN_LINES = [
    "如果您有伤害自己的想法，请立即拨打心理援助热线12356或400-161-9995，紧急情况请拨打120或110。",
    "好的，已记录您的要求，我们将停止主动联系您。",
    "理解您现在心情不好。我们希望和您一起找到解决办法，请您平和地沟通。",
]
# Said only to a verified borrower: they tell a third party that there is a loan being collected.
VERIFIED_ONLY_LINES = [
    "您可以通过官方App的“我的借款—立即还款”、绑定的银行卡自动扣款，或官方公布的对公账户转账还款。请不要向任何个人账户转账，谨防诈骗。",
    "已记录您的异议。核实期间我们会暂停催收，并由人工专员在2个工作日内与您联系核实。",
]
# Who the creditor is, or that a loan exists, in words a pre-verification utterance must not contain (issue 10, 5).
CREDITOR_BEFORE_VERIFICATION = [
    "您好，我是华诚小额贷款的智能客服助手（AI自动应答，非真人），本次通话将全程录音。",
    "我是安信消费金融的智能客服助手，是AI自动应答，不是真人。",
    "这里是长兴银行信用卡中心。",
    "我们是联合普惠金融，找您是关于借款的事情。",
    "有一笔网贷需要和您本人确认。",
    "This is a message from a debt collector.",
    "You owe 3,500 dollars on your loan.",
]


def test_debt_detail_is_blocked_before_verification():
    for context in (None, {}, UNVERIFIED, {"identity_verified": "yes"}):
        verdict = rules_only(BOT_DEBT_LINE, context)
        assert verdict.categories == ("disclosure_before_verification",)
        assert "CTX-001-debt-detail-before-verification" in verdict.rules
        assert verdict.replacement == "为保护您的隐私，在核实您的身份之前，我无法提供任何账户信息。"
    assert not rules_only("您还欠3千块", UNVERIFIED).allowed
    assert not rules_only("您的欠款是两万元", UNVERIFIED).allowed


def test_debt_detail_passes_once_verified():
    assert rules_only(BOT_DEBT_LINE, VERIFIED).allowed


@pytest.mark.parametrize("text", CREDITOR_BEFORE_VERIFICATION + VERIFIED_ONLY_LINES)
def test_a_creditor_or_a_loan_is_blocked_before_verification_and_passes_after(text):
    verdict = rules_only(text, UNVERIFIED)
    assert verdict.categories == ("disclosure_before_verification",), verdict
    assert rules_only(text, VERIFIED).allowed


@pytest.mark.parametrize("text", BOT_PLAIN_LINES)
def test_plain_bot_lines_pass_verified_or_not(text):
    assert rules_only(text, VERIFIED).allowed
    assert rules_only(text, UNVERIFIED).allowed


SAMPLE_VALUES = {
    "zh": {"money": "3,000元", "date": "11月8日", "lender": "示例消费金融", "count": "3", "options": "3、6",
           "plan": "分3期，共3,000元（免分期手续费）：第1期 12月9日 1,000元。", "choices": "可选3、6期，", "said": "已经还款",
           "summary": "您承诺11月8日前还款3,000元。", "time": "10:00",
           "conversation": "对话"},
    "en": {"money": "$3,000.00", "date": "November 8", "lender": "Acme Lending", "count": "3", "options": "3 or 6",
           "plan": "3 monthly payments, $3,000.00 in total (no plan fee): 1) December 9, $1,000.00.",
           "choices": "You can choose 3 or 6. ", "said": "already paid", "summary": "you'll pay $3,000.00 by November 8.",
           "time": "10:00", "conversation": "chat"},
}
_VALUE_KINDS = {
    "balance": "money", "amount": "money", "principal": "money", "interest": "money", "fees": "money",
    "remaining": "money", "total": "money", "first_amount": "money", "waived": "money",
    "date": "date", "due": "date", "earliest": "date", "latest": "date", "first_due": "date",
    "days": "count", "periods": "count",
}


def _rendered(language: str, text: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    samples = SAMPLE_VALUES[language]
    return text.format(**{name: samples[_VALUE_KINDS.get(name, name)] for name in names})


def _settings_texts():
    """The fixed texts in the settings (a fault reply, a machine message, …): every string default of a field
    whose name ends in "_text" or "_text_en", in every settings section."""
    import pydantic

    from configuration.settings import Settings

    found = []

    def walk(model, prefix):
        for name, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, pydantic.BaseModel):
                walk(field.annotation, f"{prefix}{name}.")
            elif (name.endswith("_text") or name.endswith("_text_en")) and isinstance(field.default, str):
                found.append((f"settings:{prefix}{name}", field.default))

    walk(Settings, "")
    return found


def _channel_texts():
    """The WeChat channel's fixed protocol texts (module constants in upper case)."""
    from bot.channels import wechat

    return [(f"wechat:{name}", value) for name, value in vars(wechat).items()
            if name.isupper() and isinstance(value, str) and re.search(r"[\u4e00-\u9fff]", value)] + [
        ("wechat:_too_long", wechat._too_long(600))]


def _bot_lines():
    """Every sentence in actions/replies.py in both languages, rendered with sample values, every response in
    domain.yml (each language's variation), and the fixed texts of the settings and the WeChat channel."""
    lines = [(f"replies:{key}:{language}", _rendered(language, text))
             for key, texts in REPLIES.items() for language, text in texts.items()]
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in (domain.get("responses") or {}).items():
        for variant in variants:
            if variant.get("text"):
                lines.append((f"domain.yml:{name}", variant["text"]))
    return lines + _settings_texts() + _channel_texts()


def test_actions_say_nothing_outside_the_replies_catalogue():
    """A Chinese sentence written straight into an action would have no English twin and escape the checks below."""
    cjk = re.compile(r"[\u4e00-\u9fff]")
    stray = []
    for path in sorted((ROOT / "actions").glob("*.py")):
        if path.name == "replies.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body and isinstance(node.body[0], ast.Expr)
        }
        stray += [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and cjk.search(node.value)]
    assert stray == []


def test_every_reply_has_both_languages_with_the_same_values():
    for key, texts in REPLIES.items():
        assert set(texts) == {"zh", "en"}, key
        names = [{name for _, name, _, _ in string.Formatter().parse(text) if name} for text in texts.values()]
        assert names[0] == names[1], key


BOT_LINES = _bot_lines()


def test_the_filter_holds_back_bot_lines_that_state_the_debt_before_verification():
    """BOT_LINES is the bot's real speech, so the passes below are passes of lines the filter reads: in
    each language, lines that state the debt are stopped before verification."""
    held_back = collections.Counter(
        where.rsplit(":", 1)[-1] for where, text in BOT_LINES
        if where.startswith("replies:") and rules_only(text, UNVERIFIED).categories == ("disclosure_before_verification",))
    assert held_back["zh"] >= 5 and held_back["en"] >= 5, held_back


@pytest.mark.parametrize(("where", "text"), BOT_LINES, ids=[w for w, _ in BOT_LINES])
def test_every_bot_line_passes_when_verified(where, text):
    verdict = rules_only(text, VERIFIED)
    assert verdict.allowed, (where, text, verdict)


def test_every_bot_line_passes_the_whole_filter_as_the_egress_runs_it():
    """The learned classifier too: a lawful line it blocks would be replaced on the wire (English lines were)."""
    blocked = [(where, check(text, VERIFIED).rules) for where, text in BOT_LINES if not check(text, VERIFIED).allowed]
    assert blocked == []


# Short lines the bot and agents say, and the bot replies the gateway tests stand in for Rasa's, none of them
# a training row: a line of a few characters has few features, and scaled to unit length they let one
# character common in threats decide alone ("还有别的吗？" was blocked as an insult, "为什么？" too). The norm
# floor (compliance_filters.train.NORM_FLOOR) is why they pass.
SHORT_LAWFUL_LINES = [
    "不用了。", "为什么？", "再见。", "别客气。", "别忘了。", "别忘了还款日。",
    "别急，我帮您查一下。", "别担心。", "别挂，稍等。", "别的我不清楚。", "别的方式也可以。", "别的都没问题。",
    "别着急，慢慢说。", "别这样说。", "听得到吗？", "喂？", "嗯，然后呢？", "在吗？", "好的", "好的。",
    "好的，为您分12期。", "好的，分3期。", "好的，分六期。", "好的，周五还两千。",
    "好的，已为您申请转接人工专员，请稍候。", "好的，已为您记录。", "好的，您打算哪天还？", "好的，我来为您查询。",
    "好的，明白。", "好的，谢谢您。", "好的，还有吗？", "就这样吗？", "怎么了？", "您别生气。", "您好",
    "您好，请问是张伟本人吗？", "您好，请问是张先生本人吗？", "您好，请问是您本人吗？", "您还在吗？", "您还好吗？",
    "您还打算还吗？", "您还有别的问题吗？", "感谢您的接听，再见。", "我们很关心您", "我们很关心您的安全。",
    "我们很担心您。", "我还在。", "收到。", "明白", "明白了吗？", "是吗？", "核实通过。", "没事。", "真的吗？",
    "算了。", "请先核实身份。", "请说身份证后四位。", "请问您的身份证后四位是多少？", "请问是张先生本人吗？",
    "还剩多少？", "还可以吗？", "还好吗？", "还差多少？", "还是老样子吗？", "还有一件事。", "还有什么我能帮您的？",
    "还有其他问题吗？", "还有别的吗？", "还有别的问题吗？", "还有吗？", "还有呢？", "还没到期。",
    "还能再快点吗？", "还行吗？", "还要多久？", "还记得吗？", "还需要什么帮助吗？", "那还用说吗？",
    "Anything else I can help with?", "Anything else?", "Can you hear me?",
    "Don't hang up, one moment.", "Don't worry.", "Goodbye.", "Hello?", "How much is left?", "Is that all?",
    "Is there anything else?", "Never mind.", "No problem.", "Really?", "What else?",
]


def test_short_lawful_lines_pass_the_whole_filter_as_the_egress_runs_it():
    blocked = [(text, check(text, VERIFIED).rules) for text in SHORT_LAWFUL_LINES if not check(text, VERIFIED).allowed]
    assert blocked == []


# Still blocked: "你" and "you"/"your" weigh as harm on their own (the generator's lawful rows all say 您, its
# threats 你), and "why" is in five threats of the supplement and no lawful row. Hand-written short and
# informal lawful rows fixed these but cost recall on the evaluation sets (README, Compliance); strict, so
# the day they pass this says so.
@pytest.mark.xfail(strict=True, reason="known false blocks of the classifier, see the comment")
@pytest.mark.parametrize("text", ["你还在听吗？", "还有几天？", "Are you still there?", "Take your time.", "Why?"])
def test_short_lawful_lines_still_blocked(text):
    assert check(text, VERIFIED).allowed


@pytest.mark.parametrize(("where", "text"), BOT_LINES, ids=[w for w, _ in BOT_LINES])
def test_bot_lines_without_debt_detail_pass_before_verification(where, text):
    verdict = rules_only(text, UNVERIFIED)
    assert set(verdict.categories) <= {"disclosure_before_verification"}, (where, text, verdict)


def test_every_replacement_is_itself_compliant():
    for name, category in default_rules().categories.items():
        assert rules_only(category.replacement, VERIFIED).allowed, name


def test_before_verification_every_block_is_replaced_by_the_line_that_names_no_debt():
    """Other categories' lines speak of repayment ('还款安排'), which a third party must not hear either."""
    threat = "再不还钱就打断你的腿"
    before = rules_only(threat, UNVERIFIED)
    assert not before.allowed and "violence" in before.categories
    assert before.replacement == default_rules().categories["disclosure_before_verification"].replacement
    assert rules_only(before.replacement, UNVERIFIED).allowed
    assert rules_only(threat, VERIFIED).replacement == default_rules().categories["violence"].replacement


# --- normalisation --------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("打 死 你", "打死你"), ("打*死*你", "打死你"), ("打.死.你", "打死你"), ("殺了你", "杀了你"),
    ("ＳＢ", "sb"), ("傻 Ｂ", "傻b"), ("報警", "报警"),
])
def test_normalise_undoes_evasion(raw, expected):
    assert normalise(raw) == expected


# --- the learned classifier's seam ----------------------------------------------------------------

class FakeClassifier:
    def __init__(self, scores, threshold=0.85):
        self.scores = scores
        self.thresholds = dict.fromkeys(scores, threshold)

    def predict(self, text):
        return self.scores


def test_classifier_blocks_above_threshold_only():
    rules = default_rules()
    blocks = classifier_blocks("x", rules, frozenset(), FakeClassifier({"insult": 0.9, "violence": 0.5, "nonsense": 1.0}))
    assert blocks == [("insult", 0.9)]


def test_each_category_blocks_at_its_own_calibrated_threshold():
    scores = FakeClassifier({"insult": 0.6, "violence": 0.6})
    scores.thresholds = {"insult": 0.5, "violence": 0.7}
    assert classifier_blocks("x", default_rules(), frozenset(), scores) == [("insult", 0.6)]


def test_a_threshold_in_rules_yml_overrides_the_calibrated_ones(tmp_path):
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["classifier"]["threshold"] = 0.65
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    scores = FakeClassifier({"insult": 0.6, "violence": 0.7})
    scores.thresholds = {"insult": 0.5, "violence": 0.9}
    assert classifier_blocks("x", load_rules(path), frozenset(), scores) == [("violence", 0.7)]


def test_classifier_adds_a_block_with_its_own_rule_id():
    verdict = check("您好", VERIFIED, classifier=FakeClassifier({"harassment": 0.97}))
    assert verdict == Verdict(False, ("harassment",), ("CLF-harassment",),
                              default_rules().categories["harassment"].replacement)


def test_classifier_cannot_overrule_a_negation_the_rules_made():
    verdict = check("我们不会联系您的家人", VERIFIED, classifier=FakeClassifier({"third_party_disclosure": 0.99}))
    assert verdict.allowed


class LiftingClassifier:
    """A harm regression that finds every utterance lawful (harm 0.05), lifting below 0.2."""
    harm_threshold, lift_threshold, thresholds = 0.7, 0.2, {}

    def __init__(self, harm=0.05):
        self.harm = harm

    def predict_with_harm(self, text):
        return {"false_legal_consequences": 0.01}, self.harm


def test_the_classifier_lifts_a_liftable_rule_hit_it_finds_lawful():
    verdict = check("民事欠款与坐牢无关", VERIFIED, classifier=LiftingClassifier())
    assert verdict.allowed and verdict.excused == ("FLC-001",)


def test_the_classifier_does_not_lift_a_hit_it_finds_harmful_enough():
    assert not check("民事欠款与坐牢无关", VERIFIED, classifier=LiftingClassifier(harm=0.3)).allowed


def test_the_classifier_never_lifts_an_insult_or_a_threat_of_violence():
    assert not check("你是个废物", VERIFIED, classifier=LiftingClassifier()).allowed
    assert not check("再不还钱就打死你", VERIFIED, classifier=LiftingClassifier()).allowed
    assert not check("欠款与坐牢无关，废物", VERIFIED, classifier=LiftingClassifier()).allowed


def test_the_classifier_never_lifts_words_aimed_at_the_borrower():
    assert not check("电话轰炸你", VERIFIED, classifier=LiftingClassifier()).allowed
    assert not check("你会坐牢", VERIFIED, classifier=LiftingClassifier()).allowed
    assert not check("you will be arrested", VERIFIED, classifier=LiftingClassifier()).allowed


@pytest.mark.parametrize("key", ["may_lift", "may_confirm"])
def test_may_lift_and_may_confirm_must_name_known_categories(tmp_path, key):
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["classifier"][key] = ["violence", "no_such_category"]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(Exception, match=f"{key}.*no_such_category"):
        load_rules(path)


@pytest.mark.parametrize("threat", ["电话轰炸你", "我们会联系你的家人", "不还钱你就要坐牢", "把你的照片发到朋友圈",
                                    "你可以去借网贷还", "We will call your employer", "you will be arrested"])
@pytest.mark.parametrize("lawful", ["理解您现在心情不好。我们希望和您一起找到解决办法。",
                                    "已记录您的异议。核实期间我们会暂停催收。", "您可以通过官方App还款，谨防诈骗。"])
def test_lawful_words_run_on_after_a_threat_do_not_get_it_lifted(threat, lawful):
    """The lift reads the words next to the hit, not a whole line that lawful words would dilute."""
    assert not check(threat + lawful, VERIFIED).allowed
    assert not check(threat + " " + lawful, VERIFIED).allowed


def test_classifier_failure_falls_back_to_rules():
    class Broken:
        def predict(self, text):
            raise RuntimeError("model file corrupt")
    assert check("您好", VERIFIED, classifier=Broken()).allowed
    assert not check("打死你", VERIFIED, classifier=Broken()).allowed


def test_check_with_the_installed_classifier_gives_the_same_answers_as_the_rules_on_clear_cases():
    """The default path (packaged rules plus whatever classifier is installed) lets a greeting and a
    lawful fact through and blocks a threat, with the category's replacement."""
    greeting = check("您好", VERIFIED)
    assert greeting == Verdict(allowed=True)
    assert check("逾期记录会按规定上报征信", VERIFIED).allowed
    threat = check("再不还钱就打死你", VERIFIED)
    assert not threat.allowed and "violence" in threat.categories
    assert threat.replacement == default_rules().categories["violence"].replacement


@pytest.mark.parametrize("text", [
    "您说有人半夜给您打电话，这不符合我们的规定，我们会调查。",
    "您刚才提到有人把您的照片发到群里，我们会立即处理并向您道歉。",
    "您是担心我们会联系您的家人吗？我们不会的。",
    "Hello, you mentioned someone threatened to call your employer; I've logged a complaint.",
    "If anyone tells you to take out a payday loan to pay us, that is not us; please report it.",
])
def test_restating_what_the_borrower_reported_passes(text):
    assert check(text, VERIFIED, classifier=None).allowed


@pytest.mark.parametrize("text", [
    "您说您没钱？那我们就联系您的家人和同事。",
    "您说您还不上，我们会把您的照片发到群里。",
    "You said you can't pay, so we will call your employer.",
])
def test_a_threat_after_restating_the_borrower_is_still_blocked(text):
    assert not check(text, VERIFIED, classifier=None).allowed


@pytest.mark.parametrize("text", ["再不还钱就告诉你全家", "告诉你全家你欠钱", "我们会通知你的亲朋好友", "你全家都会知道你欠钱"])
def test_telling_the_whole_family_is_third_party_disclosure(text):
    assert check(text, VERIFIED, classifier=None).categories == ("third_party_disclosure",)


def test_saying_we_will_not_tell_the_whole_family_passes():
    assert check("我们不会告诉您的全家或任何亲朋好友。", VERIFIED, classifier=None).allowed


def test_announcing_we_will_keep_calling_is_harassment_and_its_negation_passes():
    assert check("你再不接电话我们就一直打", VERIFIED, classifier=None).categories == ("harassment",)
    assert check("我们不会一直给您打电话，您方便时回复即可。", VERIFIED, classifier=None).allowed


# --- negation scope and restated abuse (issue 15 follow-up) -------------------------------------

@pytest.mark.parametrize("text", [
    "欠款属于民事纠纷，不会因为逾期而坐牢。",
    "您说之前的催收员骂您“老赖”，这种行为是违规的，我们向您道歉。",
    "您提到对方骂您是废物，请保存录音，您可以投诉。",
    "If the previous agent called you an idiot, please report it.",
])
def test_lawful_restatements_and_causal_negation_pass_the_rules(text):
    assert check(text, {"identity_verified": True}, classifier=None).allowed


@pytest.mark.parametrize("text", [
    "我们不会因为你哭穷而放过你，你就等着坐牢吧",
    "我骂你是废物怎么了，去投诉啊",
    "说你是废物都抬举你了，去投诉啊",
    "I called you an idiot, go complain",
])
def test_owned_abuse_and_threats_after_a_cause_clause_still_block(text):
    assert not check(text, {"identity_verified": True}, classifier=None).allowed


class FakeHarmClassifier(FakeClassifier):
    """A classifier with a harm regression: it decides whether, the categories decide which."""

    def __init__(self, scores, harm, harm_threshold=0.8, confirm_threshold=None):
        super().__init__(scores, threshold=0.99)
        self.harm, self.harm_threshold, self.confirm_threshold = harm, harm_threshold, confirm_threshold

    def predict_with_harm(self, text):
        return self.scores, self.harm

    def confirmed(self, probs, harm):
        return Classifier.confirmed(self, probs, harm)


def test_harm_regression_blocks_under_the_most_probable_category():
    clf = FakeHarmClassifier({"violence": 0.3, "insult": 0.6}, harm=0.9)
    assert classifier_blocks("x", default_rules(), frozenset(), clf) == [("insult", 0.9)]


def test_harm_regression_below_its_threshold_blocks_nothing_even_if_a_category_is_high():
    clf = FakeHarmClassifier({"violence": 0.995}, harm=0.5)
    assert classifier_blocks("x", default_rules(), frozenset(), clf) == []


def test_a_category_at_its_own_threshold_blocks_below_the_harm_threshold_when_harm_confirms_it():
    clf = FakeHarmClassifier({"harassment": 0.995, "insult": 0.3}, harm=0.45, confirm_threshold=0.4)
    assert classifier_blocks("x", default_rules(), frozenset(), clf) == [("harassment", 0.45)]


@pytest.mark.parametrize("scores, harm, excused", [
    ({"harassment": 0.995}, 0.35, frozenset()),  # harm under the confirmation threshold
    ({"harassment": 0.98}, 0.45, frozenset()),  # the category under its own threshold
    ({"harassment": 0.995}, 0.45, frozenset({"harassment"})),  # the rules excused the category
    ({"insult": 0.995}, 0.45, frozenset()),  # not in rules.yml classifier.may_confirm
])
def test_the_confirmation_needs_both_regressions_and_no_excuse(scores, harm, excused):
    clf = FakeHarmClassifier(scores, harm=harm, confirm_threshold=0.4)
    assert classifier_blocks("x", default_rules(), excused, clf) == []


def test_harm_regression_cannot_overrule_an_excuse_for_its_category():
    clf = FakeHarmClassifier({"third_party_disclosure": 0.9, "insult": 0.2}, harm=0.95)
    assert check("我们不会联系您的家人", VERIFIED, classifier=clf).allowed


@pytest.mark.parametrize("text, allowed", [
    ("“老赖”是对失信被执行人的俗称，您的情况并不属于。", True),
    ("The word \"deadbeat\" is offensive and our agents never use it.", True),
    ("你就是个“老赖”，去投诉啊", False),
    ("大家都叫你“老赖”，你还有脸投诉？", False),
    ("You are a real \"deadbeat\", go complain", False),
])
def test_a_quoted_insult_is_mentioned_when_explained_and_used_when_aimed_at_you(text, allowed):
    assert check(text, {"identity_verified": True}, classifier=None).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("以贷养贷会越陷越深，有困难请先和我们协商。", True),
    ("请远离高利贷，有困难我们可以分期。", True),
    ("Avoid payday loans; we can set up a plan instead.", True),
    ("对于之前催收员联系您朋友的行为，我们正式向您道歉。", True),
    ("对于你欠钱不还的行为，我们会联系你的家人，投诉也没用", False),
    ("你可以去借网贷还，没什么风险", False),
    ("以贷养贷怎么了，赶紧去借", False),
    ("关于我们联系你家人的事，你去投诉吧，我们还会继续联系你的家人", False),
])
def test_advice_against_borrowing_and_apologies_for_named_past_conduct(text, allowed):
    assert check(text, {"identity_verified": True}, classifier=None).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("依照法律规定，只有被执行人本人才会被限制高消费，家人不受影响。", True),
    ("判决生效后有能力履行而拒不履行的，才可能被列入失信黑名单。", True),
    ("Only a court judgment can lead to wage garnishment, and we have not sued.", True),
    ("拒不履行的话你就要坐牢", False),
    ("你有能力履行却拒不履行，明天就抓你", False),
    ("After a court judgment you will be arrested", False),
    ("经法院判决后拘留你", False),
    ("你明天就会被限高，坐不了飞机", False),
])
def test_a_legal_consequence_with_its_court_process_is_a_fact_unless_aimed_at_you(text, allowed):
    assert check(text, {"identity_verified": True}, classifier=None).allowed is allowed


# --- English reported abuse, words named as words, disowned claims (issue 15, English) ------------

@pytest.mark.parametrize("text, allowed", [
    # the report lies inside the insult pattern's match, which starts at the addressee
    ("She told me the last caller called you a loser; that was unacceptable and I'm sorry.", True),
    ("I called you a loser, so go complain.", False),  # the speaker owns it
    ("Report me if you like, you loser.", False),
])
def test_abuse_reported_inside_an_english_insult_match_passes_and_owned_abuse_blocks(text, allowed):
    assert rules_only(text).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("Words like deadbeat have no place in a lawful collection call.", True),
    ("Deadbeat is a word our staff are forbidden to use.", False),  # used as a word without naming it so: still blocked
    ("Such a deadbeat, report me if you want.", False),
])
def test_an_english_insult_named_as_a_word_is_mentioned_not_used(text, allowed):
    assert rules_only(text).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("A text saying we'd break your legs didn't come from us.", True),
    ("The voicemail that said we'd smash your windows was not sent by us, so please report it.", True),
    ("We'll break your legs, and this call didn't come from a script.", False),
])
def test_a_threat_quoted_and_disowned_passes(text, allowed):
    assert rules_only(text).allowed is allowed


# --- English threat structure in the rules (issue 15, English) -----------------------------------

@pytest.mark.parametrize("text, allowed", [
    # how often we will reach the borrower: someone of ours, a future, a way of contacting, a frequency
    ("Our autodialer will ring you every few minutes, weekends included.", False),
    ("We're going to text you around the clock till the account is clear.", False),
    ("I'll keep phoning you at midnight until you answer.", False),
    ("Your cell is never going to stop buzzing, trust me.", True),  # left to the classifier: no frequency named
    ("Your phone will never stop ringing until this is paid.", False),
    ("Blocking this number won't help you one bit.", False),
    ("We will not call you every day; once a week at most.", True),
    ("We called you twice this month and will not call again this week.", True),
])
def test_a_promised_frequency_of_contact_is_harassment_and_its_negation_passes(text, allowed):
    assert rules_only(text).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("Everybody in your building is about to find out what you owe.", False),
    ("All your followers will soon know you skip out on debts.", False),
    ("We're going to put your picture on a flyer at the bus stop and on Facebook.", False),
    ("Your mugshot is going up on the wall at the shop entrance.", False),
    ("We will never put anything about you on Facebook.", True),
    ("Everyone on our team will see your request to pause payments.", True),
    ("We post payment updates on our website for all customers.", True),  # nothing about the borrower
])
def test_telling_an_audience_about_the_borrower_is_public_shaming_and_privacy_promises_pass(text, allowed):
    assert rules_only(text).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("Your nursing license will be revoked by the state board.", False),
    ("You'll lose your green card over this balance.", False),
    ("You could be handcuffed at work if this stays open.", False),
    ("Defaulting on a card is a felony here.", False),
    ("Your passport will not be affected by this account.", True),
    ("You will not be jailed over a consumer debt.", True),
    ("Not paying a card bill is not a crime.", True),
])
def test_false_claims_about_licences_status_and_crime_are_false_legal_consequences(text, allowed):
    assert rules_only(text).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("You think we won't call your boss? Watch us.", False),  # a mocked negation, as 以为 in Chinese
    ("None of your coworkers will hear about this from us.", True),
    ("You're worried we'll contact your family? We won't.", True),  # the borrower's worry, answered
    ("We said we'd call your boss. That's not true.", False),  # our own words are not someone's claim
    ("If a caller says there's a warrant for your arrest, hang up; it's a scam.", True),
    ("You are not a loser for falling behind.", True),
    ("You're a loser for falling behind.", False),
])
def test_english_negation_scope_worries_answered_and_callers_quoted_in_a_fraud_warning(text, allowed):
    assert rules_only(text).allowed is allowed


@pytest.mark.parametrize("text, allowed", [
    ("We'll text every number in your phone tonight.", False),
    ("I'm going to message all the people on your WhatsApp about this.", False),
    ("We never contact anyone in your phone, only you.", True),
    ("You're a crook and a coward.", False),
    ("You are nothing but a waste of space.", False),
    ("You called us thieves, and I hear you're upset about the fees.", True),  # the borrower's word for us
    ("You're not a fool for asking.", True),
])
def test_everyone_in_the_borrowers_phone_and_insult_nouns_aimed_at_the_borrower(text, allowed):
    assert rules_only(text).allowed is allowed
