"""Decide whether a rule hit is excused — one job: negation, anti-fraud quotation, borrower echo.

Scoped by clause, not by word list alone:

* negation — a negator ("不会", "绝不", "never", "won't" …) shortly before the hit in the same
  clause, with no conditional or contrastive word between them ("就", "否则", "但", "unless", "or"),
  and not itself a condition ("如果不", "不还", "if you don't pay").
* anti-fraud quotation — the utterance is a fraud warning (诈骗/报警/110/scam …) and the hit is
  reported speech: a reporter ("冒充", "自称", "有人说", "pretending to be") precedes it in the same
  or the previous clause, with no first-person speaker ("我们") between them.
* echo — quoted or "您说 …" spans that repeat the borrower's own words are removed before matching.
"""
from __future__ import annotations

import re

from compliance_filters.lexicon import Hit
from compliance_filters.normalise import Clause, compact

_WINDOW_ZH = 14
# A negation reaches over a list of what it denies: '不会在您的朋友圈、微信群或者任何网站曝光'.
_WINDOW_ZH_OVER_LIST = 20
_LIST_JOINER_ZH = re.compile(r"或者|或是|以及|还是|或|及")
_WINDOW_EN = 60

_NEGATOR_ZH = re.compile(
    r"绝不|决不|从不|从未|从来不|从来没有|永远不|并不|并没有|不会|不能|不得(?!不)|不再|不必|无需|无须|不用|不需要"
    r"|没有|没(?![收出])|未(?![来曾必])|禁止|严禁|杜绝|无权"
    # "别" as "don't", not in 别人/别的/特别/区别…, nor 别怪/别说 ("别怪我没提醒你" warns, it does not deny)
    r"|(?<![特区分级个告离性识类差辨派送鉴])别(?![人的处怪说看])"
    r"|不(?![仅只但光止断停少管论然久好过还付交缴接回理配得要])"
)
# "不要" is a negator only when it is not "不要逼我们/让我们…" (checked by the blockers below).
_NEGATOR_ZH_WEAK = re.compile(r"不要|请勿|切勿|勿")
_CONDITION_BEFORE_ZH = re.compile(r"(如果|要是|假如|若|只要|一旦|万一|敢)$")
# "不会因为逾期而坐牢", "不会因为您没接电话就联系家人": the 而/就 of 因为…而/就 joins a cause to the
# negated verb, it does not contrast.
_CAUSE_ER_ZH = re.compile(r"(因为|由于|因)[^而就]{0,10}(而|就)")
# "别以为我们不敢…", "你以为我们不会…？": a negation the speaker mocks, not one they make.
_RHETORICAL_BEFORE_ZH = re.compile(r"(以为|难道|当我们|当真)[^,]{0,6}$")
_BLOCKER_ZH = re.compile(
    r"就|则|那么|否则|不然|才|逼|迫使|让我们|的话|所以|因此|必须|但|却|而|可是|只是|不过|还会|只会|照样|仍然|仍会|还是"
    r"|我们会|我们将|我们要|我会|我要|你是|您是"  # a new assertion: "我们不会联系您的家人或同事我们会…"
)

_NEGATOR_EN = re.compile(
    r"\b(never|not|no|won't|wont|will not|do not|don't|dont|cannot|can't|shall not|doesn't|didn't|nobody|no one|none)\b"
)
_CONDITION_BEFORE_EN = re.compile(r"\b(if|unless|when|until)\s+(\w+\s+){0,2}$")
_CONDITION_AFTER_EN = re.compile(r"^\s*(pay|repay|respond|answer|call back|cooperate|settle)\b")
_BLOCKER_EN = re.compile(r"\b(but|unless|if|or|otherwise|then|until|else|so)\b")
# "you think we won't call your boss?": a negation the speaker mocks, not one they make (as 以为 in Chinese).
_RHETORICAL_BEFORE_EN = re.compile(
    r"\b(you|ya|u)( really| honestly| actually)? (think|thought|believe|believed|figure|figured|assume|assumed|imagine|bet)"
    r"( that)?( \w+){0,2} $"
)


def is_negated(hit: Hit) -> bool:
    text, start = hit.view_text, hit.start
    if hit.view == "compact":
        return _negated_zh(text, start)
    return _negated_en(text, start)


def _negated_zh(text: str, start: int) -> bool:
    lo = max(0, start - _WINDOW_ZH)
    if _LIST_JOINER_ZH.search(text, max(0, start - _WINDOW_ZH_OVER_LIST), start):
        lo = max(0, start - _WINDOW_ZH_OVER_LIST)
    candidates = [m for rx in (_NEGATOR_ZH, _NEGATOR_ZH_WEAK) for m in rx.finditer(text, lo, start)]
    causes = [c.span() for c in _CAUSE_ER_ZH.finditer(text, lo, start)]
    for m in sorted(candidates, key=lambda m: m.start(), reverse=True):
        if any(c_start < m.start() < c_end for c_start, c_end in causes):
            continue  # a negator inside the cause ('因为您没接电话就') does not negate the verb
        if _RHETORICAL_BEFORE_ZH.search(text[lo:m.start()]):
            return False
        if _CONDITION_BEFORE_ZH.search(text[max(0, m.start() - 3):m.start()]):
            continue
        if m.start() > 0 and text[m.start() - 1] == text[m.start() + 1:m.start() + 2]:
            continue  # A-not-A question: 信不信, 会不会, 是不是
        if _BLOCKER_ZH.search(_CAUSE_ER_ZH.sub("", text[m.end():start])):
            return False  # the nearest negator is cut off from the hit; earlier ones are too
        return True
    return False


def _negated_en(text: str, start: int) -> bool:
    lo = max(0, start - _WINDOW_EN)
    for m in reversed(list(_NEGATOR_EN.finditer(text, lo, start))):
        if _CONDITION_BEFORE_EN.search(text[:m.start()]) or _CONDITION_AFTER_EN.match(text[m.end():start]):
            return False
        if _RHETORICAL_BEFORE_EN.search(text[:m.start()]):
            return False
        if _BLOCKER_EN.search(text[m.end():start]):
            return False
        return True
    return False


# ---------------------------------------------------------------------------------------------
# Anti-fraud framing
# ---------------------------------------------------------------------------------------------
_FRAUD_CONTEXT = re.compile(
    r"诈骗|骗子|骗局|报警|110|谨防|警惕|不要相信|请勿相信|切勿|不要转账|核实|官方"
    r"|scam|fraud|police|do not trust|don't trust|beware|report it|verify"
)
_REPORTER = re.compile(
    r"冒充|假冒|冒用|自称|谎称|声称|伪装成|假扮|有人说|有人以|有人打电话说|对方说|对方称"
    r"|(骗子|不法分子|诈骗分子|犯罪分子)(常|会|往往|一般)?(说|讲|称)|任何人说|谁说"
    r"|impersonat\w*|pretend\w*|claiming to be|claims to be|claim to be|posing as|someone says|someone claims|anyone who says"
    # whoever speaks in a fraud warning: 'if a caller says there's a warrant for your arrest, it's a scam'
    r"|\b(caller|someone|somebody|anyone|anybody|a person|people|they|the (caller|person|message|text|email|voicemail|letter))"
    r" (says|say|said|claims|claim|claimed|tells you|told you|threatens|threatened|warns|warned)\b"
)
_FIRST_PERSON_AFTER_ZH = re.compile(r"我")
_FIRST_PERSON_AFTER_EN = re.compile(r"\b(we|i|our|us)\b")


def is_fraud_warning(clauses: list[Clause]) -> bool:
    return any(_FRAUD_CONTEXT.search(c.compact) or _FRAUD_CONTEXT.search(c.spaced) for c in clauses)


# The bot restating what the borrower reported, or what a third party might tell them.
_BORROWER_REPORT = re.compile(
    r"您说|你说|您提到|您刚才提到|您反映|您是担心|您担心|您遇到|如果有人|若有人|(如果|若|如|一旦)(您)?(发现|遇到|看到|收到|听到)"
    r"|you mentioned|you said|you told us|you reported|if anyone|if someone|anyone tells you"
)


# Abuse someone else used on the borrower, restated by us as wrong ('您说之前的催收员骂您“老赖”，这是
#违规的'): the reporting verb names the abuse as another's act; the complaint frame condemns it.
_ABUSE_REPORT = re.compile(
    r"(催收员|催收人员|工作人员|员工|客服|对方|他们|他|她|有人|别人|家人|家里人|那个人|那人)"
    r"(之前|以前|曾经|曾|还|一直|总)?(辱骂|骂|称|说|叫)(您|你)"
    r"|\b(agent|collector|caller|someone|somebody|they|he|she|person|rep|representative|employee)\b"
    r"[\w' ]{0,20}\b(called|calls|call|referred to) (you|people|customers|borrowers|consumers|debtors|someone)\b"
)
_CONDEMNING = re.compile(
    r"违规|违法|违反|不允许|不应该|严禁|禁止|道歉|抱歉|投诉|举报|报警|录音|处理|处罚|不文明"
    r"|unacceptable|not allowed|against our policy|apologi[sz]e|sorry|report|complain|prohibited|illegal|unlawful|violat\w*|abus\w*"
    r"|banned|forbidden|not permitted|against the law|break\w* the law"
)


def is_reported_abuse(hit: Hit, clauses: list[Clause]) -> bool:
    """An insult another person used on the borrower, restated in a line that condemns it."""
    if not any(_CONDEMNING.search(c.compact) or _CONDEMNING.search(c.spaced) for c in clauses):
        return False
    before = hit.view_text[:hit.start]
    if (_FIRST_PERSON_AFTER_ZH if hit.view == "compact" else _FIRST_PERSON_AFTER_EN).search(before):
        return False  # '我骂你是猪怎么了，去投诉啊': the speaker owns the abuse
    if hit.view != "compact" and _is_reported_within_en(hit):
        return True
    return is_reported_speech(hit, clauses, reporter=_ABUSE_REPORT)


def _is_reported_within_en(hit: Hit) -> bool:
    """An English insult pattern's match starts at the addressee ('you … loser'), so the report that
    frames it can lie inside the match: 'you mentioned the last agent called you a loser'. The
    report must come before the insult word, with no first person between them."""
    word_start = hit.start + max(hit.text.rfind(" ") + 1, 0)
    found = list(_ABUSE_REPORT.finditer(hit.view_text, 0, word_start))
    return bool(found) and not _FIRST_PERSON_AFTER_EN.search(hit.view_text[found[-1].end():word_start])


# A word named as a word, not used: 'the word deadbeat should never be used', 'terms like scum are
# banned'. Only with the explaining or condemning frame is_quoted_mention also asks for.
_NAMED_WORD_BEFORE_EN = re.compile(
    r"\b(the (word|words|term|terms|label|labels|slur|insult|phrase)|words like|terms like|names like|labels like"
    r"|insults like|language like|such as)\s*$"
)


# A word in quotation marks is mentioned, not used ('“老赖”是对失信被执行人的俗称', '所谓“老赖曝光”的帖子
# …请举报'), when the line explains or condemns it — and is not aimed at the borrower ('你就是个“老赖”').
_QUOTED_SPAN = re.compile(r"[“\"「『‘']([^”\"」』’'“「『‘]{1,24})[”\"」』’']")
_EXPLAINING = re.compile(
    r"俗称|称呼|说法|所谓|字眼|词语|这个词|这种词|不属于|并不是|不是指|是指"
    r"|so-called|the word|the term|the label|that word|that term|words like|terms like|names like|language like"
)
_ADDRESSED_ZH = re.compile(r"(你|您)(们)?(这个|这种|这样的|就是|真是|简直是|是个|是|个|这|那)*$|(叫|称|骂|喊|说)(你|您)(们)?(是|为|做|作)?$")
_ADDRESSED_EN = re.compile(r"\b(you|you're|ya|u)( are| is)?( such| a| an| the| a real| an absolute)*\s*$")


def is_quoted_mention(hit: Hit, clauses: list[Clause]) -> bool:
    """The hit lies inside a quoted word that the utterance explains or condemns, not aimed at 'you'."""
    if not any(_EXPLAINING.search(c.compact) or _EXPLAINING.search(c.spaced)
               or _CONDEMNING.search(c.compact) or _CONDEMNING.search(c.spaced) for c in clauses):
        return False
    if hit.view != "compact" and _NAMED_WORD_BEFORE_EN.search(hit.view_text[:hit.start]):
        return True
    word = hit.text
    for m in _QUOTED_SPAN.finditer(hit.clause.raw):
        inner = m.group(1)
        inner_view = compact(inner) if hit.view == "compact" else " ".join(re.findall(r"[^\W_]+(?:'[^\W_]+)*", inner.lower()))
        if word and word in inner_view:
            before = hit.clause.raw[:m.start()]
            if hit.view == "compact":
                return not _ADDRESSED_ZH.search(compact(before))
            return not _ADDRESSED_EN.search(before.lower())
    return False


# Conduct named as a past act and apologised for or condemned: '对于之前催收员联系您朋友的行为，我们正式
# 向您道歉'. The hit must lie inside the 对于/关于 … 的行为 phrase, not after it ('对于你欠钱不还的行为，我们会
# 联系你的家人' still blocks).
_NAMED_CONDUCT_ZH = re.compile(r"(对于|关于|针对|就)(?P<span>.{1,30}?)的?(行为|做法|事情|情况|问题|错误)")


def is_named_conduct(hit: Hit, clauses: list[Clause]) -> bool:
    if hit.view != "compact" or not any(_CONDEMNING.search(c.compact) for c in clauses):
        return False
    for m in _NAMED_CONDUCT_ZH.finditer(hit.view_text):
        if m.start("span") <= hit.start and hit.end <= m.end("span"):
            return not _FIRST_PERSON_AFTER_ZH.search(hit.view_text[m.start("span"):hit.start]) or bool(
                re.search(r"(之前|以前|曾经|此前|上次|前任|那位|有的)", m.group("span")))
    return False


# Advice against the act rather than for it: '以贷养贷会越陷越深', '远离高利贷', 'avoid payday loans'.
# Within a few characters before the hit, so a list may stand between: '远离各类网贷、套现中介'; 诱导
# and its kin name someone else's inducement as the wrong ('不法分子诱导借款人借新还旧').
_AVOID_BEFORE_ZH = re.compile(r"(避免|防止|警惕|谨防|远离|拒绝|以免|小心|慎用|当心|诱导|怂恿|教唆|引诱)[^你您]{0,6}$")
_HARMS_ZH = (r"(越陷越深|越滚越大|陷入困境|困境|陷阱|骗局|得不偿失|雪上加霜|恶性循环|不可取|害了自己|负担更重|更难还|违法|违规|不合法"
             r"|不是(唯一的|好)?办法|只会(让|使)|更严重|更糟|风险(很|更|太|极|非常)?(大|高))")
_HARMS_AFTER_ZH = re.compile(r"^.{0,8}" + _HARMS_ZH)
_HARMS_ZH_RE = re.compile(_HARMS_ZH)
# The harm said in the next clause: '很多人借网贷还信用卡，最后债务越滚越大', '…，这样做风险很大'.
_HARMS_NEXT_ZH = re.compile(r"^(最后|结果|最终|这样|这样做|这么做|这种做法|这|只会|反而|往往)?.{0,6}" + _HARMS_ZH)
# An example of what the previous clause warned against: '不要…做违法的事情，比如套现'.
_EXAMPLE_ZH = re.compile(r"^(比如|例如|像|包括|诸如)")
_AVOID_BEFORE_EN = re.compile(r"\b(avoid|avoiding|beware of|stay away from|steer clear of|refuse|resist)\s+(\w+\s+){0,2}$")
_HARMS_AFTER_EN = re.compile(r"^.{0,30}\b(trap|debt spiral|vicious cycle|makes things worse|a bad idea|risky|dangerous|predatory)\b")


def is_advice_against(hit: Hit, clauses: list[Clause] = ()) -> bool:
    text = hit.view_text
    if hit.view == "compact":
        following = [c for c in clauses if c.index == hit.clause.index + 1]
        preceding = [c for c in clauses if c.index == hit.clause.index - 1]
        return bool(_AVOID_BEFORE_ZH.search(text[max(0, hit.start - 10):hit.start])
                    or _HARMS_AFTER_ZH.search(text[hit.end:])
                    or (following and _HARMS_NEXT_ZH.search(following[0].compact))
                    or (preceding and _EXAMPLE_ZH.match(text) and _HARMS_ZH_RE.search(preceding[0].compact)))
    return bool(_AVOID_BEFORE_EN.search(text[:hit.start]) or _HARMS_AFTER_EN.search(text[hit.end:]))


# A legal consequence stated with the court process it depends on is a fact, not a false threat:
# '判决生效后有能力履行而拒不履行的，才可能被列入失信名单', '只有被执行人本人才会被限制高消费'.
_COURT_PROCESS_ZH = re.compile(
    r"判决生效|生效判决|生效的判决|拒不履行|有能力履行|经法院判决|经过法院判决|法院依法|依法判决|执行程序中|只有.{0,8}被执行人"
    r"|恶意透支|经.{0,4}催收|法院(可以|才能|才可以|有权|依法|会)|对(失信)?被执行人"
)
# The consequence named as the court's own measure: '限制高消费是法院对被执行人采取的措施'.
_COURT_MEASURE_AFTER_ZH = re.compile(
    r"^(令|措施)?((是|属于|只能|只有|必须|需要|须|需|要)?(由|经|经过)?(人民)?法院"
    r"|(是指|指的是|针对的是|是针对|只针对|针对|要求|的构成要件|的前提是|只适用于|适用于|(是|属于)(一种)?(刑事|刑罚|司法))"
    r"|.{0,6}?(都)?(需要|必须|须|要|只能)(经过|经|通过|由)(司法|法院|诉讼|法定))"
)
_COURT_PROCESS_EN = re.compile(
    r"\b(only )?(after|if|once) (a |the )?court (judgment|order|rules|enters|grants)|court judgment|only a (court|judge)\b"
)
# The consequence said to need a crime or a court: 'a criminal record is only for crimes'.
_COURT_MEASURE_AFTER_EN = re.compile(
    r"^ (is|are) (only )?(for|reserved for)\b.{0,20}\b(crimes?|convictions?|courts?|judges?)\b"
    r"|^ (only )?(applies|apply|requires|require|needs|need) (to )?.{0,20}\b(crimes?|convictions?|courts?|judges?|judgments?)\b"
)


_AIMED_NOW_ZH = re.compile(r"你|马上|立刻|立即|明天|今天|今晚|就要|等着|准备")
_AIMED_NOW_EN = re.compile(r"\b(you|you'll|you're|your|tomorrow|today|tonight|now)\b")
_CONSEQUENT_ZH = re.compile(r"^(才|则|方|可能|才可能|才会|依法)")


def is_stated_with_court_process(hit: Hit, clauses: list[Clause] = ()) -> bool:
    """The clause names the court process on which the consequence depends, before the consequence —
    or the clause is the consequent ('…拒不履行的，才可能被列入失信名单') of a previous clause that does."""
    before = hit.view_text[:hit.start]
    if (_COURT_MEASURE_AFTER_ZH if hit.view == "compact" else _COURT_MEASURE_AFTER_EN).match(hit.view_text[hit.end:]):
        return True
    process = _COURT_PROCESS_ZH if hit.view == "compact" else _COURT_PROCESS_EN
    found = list(process.finditer(before))
    if found:  # …unless the consequence is then aimed at 'you' now: '拒不履行的话你明天就要坐牢'
        aimed = _AIMED_NOW_ZH if hit.view == "compact" else _AIMED_NOW_EN
        return not aimed.search(before[found[-1].end():] + " " + hit.text)
    index = hit.clause.index
    if hit.view == "compact" and index > 0 and _CONSEQUENT_ZH.match(hit.view_text):
        previous = [c for c in clauses if c.index == index - 1]
        return bool(previous and process.search(previous[0].compact))
    return False


# A claim named and refuted in the same clause: '冻结家属账户的说法是错误的', 'saying you'll be jailed is false'.
_REFUTATION_ZH = r"(错误|误解|谣言|假的|吓唬|骗人|诈骗|不实|不对|没有.{0,4}依据|违规|违法|恐吓|不可能)"
_REFUTED_AFTER_ZH = re.compile(
    r"^[^你您]{0,6}?(的)?(说法|这种说法|言论|话)?(都|全|纯属|完全)?(是|属于)?(一种|一个)?" + _REFUTATION_ZH
)
# '有人说您家人的账户会被冻结，这是吓唬人的话': the next clause refutes a claim someone else made.
_REFUTED_NEXT_ZH = re.compile(
    r"^((这|那|这种说法|这些|此类|这都|这些都)?(种说法|个说法|些话|话)?(都|全|纯属|完全)?(是|属于)?(在)?(一种|一个)?" + _REFUTATION_ZH
    + r"|其实.{0,8}不(会|是)|不会的|(您|你)?(可以|请)放心|说了不算)"
)
# Whose claim or worry it is: someone else's ('有人说', '有的平台会'), or the borrower's ('您担心', '很多人以为').
_CLAIM_REPORTED_ZH = re.compile(r"说|称|威胁|扬言|听到|听说|所谓|讲|担心|害怕|以为|有人|有的|有些|个别|很多人|不少人|催收员")
_REFUTED_NEXT_EN = re.compile(
    r"^(that|this|it|which)( is|'s| was)( simply| just| completely)? (not true|false|untrue|a lie|a scam|illegal|wrong|a myth)\b"
    # a worry answered: 'you're worried we'll contact your family? we won't'
    r"|^(we|i)( won't| will not| never| don't| do not| wouldn't| would not| can't| cannot)\b|^(no|not at all|of course not)\b"
)
# Whose claim or worry it is: someone else's, or the borrower's ('you're worried', 'you may have heard').
_CLAIM_REPORTED_EN = re.compile(
    r"\b(says|said|claims|claimed|tells you|told you|threatens|threatened|warns|warned"
    r"|worried|worry|worries|afraid|concerned|fear|fears|heard|think|thought|wondering)\b"
)
_FIRST_PERSON_EN = re.compile(r"\b(i|we|i'm|we're|i'll|we'll)\b")
_REFUTED_AFTER_EN = re.compile(
    r"^[\w' ]{0,20}?\b(is|are|was|that's|it's)( simply| just| completely)? (false|untrue|a lie|a scam|not true|wrong|a myth"
    r"|illegal|unlawful|against the law|breaking the law|prohibited|not allowed|lying)\b"
    # the claim disowned: 'a text saying we'd break your legs did not come from us'
    r"|^[\w' ]{0,20}?\b(did not|didn't|does not|doesn't|never) (come|came) from (us|our (company|agency|office|team))\b"
    r"|^[\w' ]{0,20}?\b(was|is|wasn't|isn't)( not)? (sent|written) by (us|our (company|agency|office|team))\b"
)


def is_refuted_claim(hit: Hit, clauses: list[Clause] = ()) -> bool:
    after = hit.view_text[hit.end:]
    if (_REFUTED_AFTER_ZH if hit.view == "compact" else _REFUTED_AFTER_EN).match(after):
        return True
    before = hit.view_text[:hit.start]
    following = [c for c in clauses if c.index == hit.clause.index + 1]
    if not following:
        return False
    if hit.view != "compact":
        reported = list(_CLAIM_REPORTED_EN.finditer(before))
        # a first person before the report owns the claim ('we said we'd call your boss'); after it, it is
        # part of what was reported ('you're worried we'll contact your family')
        return bool(_REFUTED_NEXT_EN.match(following[0].spaced) and reported
                    and not _FIRST_PERSON_EN.search(before[:reported[-1].start()]))
    return bool(_REFUTED_NEXT_ZH.match(following[0].compact) and _CLAIM_REPORTED_ZH.search(before) and "我" not in before)


# Conduct of collectors or others, named with its sanction: '催收人员在朋友圈曝光借款人，已被法院判决
# 侵犯名誉权', '暴力催收可能构成催收非法债务罪，会被判刑'. The wrongdoer is named before the hit, and
# the line says it is punished or unlawful.
_WRONGDOER_ZH = re.compile(
    r"暴力催收|软暴力|违规催收|非法催收|催收非法债务|催收人员|催收员|催收公司|不法分子|个别机构|有的平台|有的催收"
    r"|冒充|假冒|寻衅滋事|招摇撞骗"
)
_SANCTIONED_ZH = re.compile(r"构成|罪|判决|判刑|处罚|查处|追究|违法|违规|投诉|举报|报警|侵犯")


def is_condemned_conduct_of_others(hit: Hit, clauses: list[Clause]) -> bool:
    if hit.view != "compact":
        return False
    index = hit.clause.index
    before = "".join(c.compact for c in clauses if c.index == index - 1) + hit.view_text[:hit.start]
    wrongdoer = list(_WRONGDOER_ZH.finditer(before))
    aimed = before[wrongdoer[-1].end():] + hit.text + hit.view_text[hit.end:hit.end + 2] if wrongdoer else ""
    if not wrongdoer or re.search(r"我|你|您", aimed):
        return False  # '我们是催收员，你会坐牢', '催收员马上上门抓你': aimed at the borrower, or the speaker acts
    rest = "".join(c.compact for c in clauses if c.index >= index)
    return bool(_SANCTIONED_ZH.search(rest))


def is_borrower_report(hit: Hit, clauses: list[Clause]) -> bool:
    """The hit restates the borrower's own report ('您说有人半夜给您打电话') rather than speaking for us."""
    return is_reported_speech(hit, clauses, reporter=_BORROWER_REPORT)


def is_reported_speech(hit: Hit, clauses: list[Clause], reporter: re.Pattern[str] = _REPORTER) -> bool:
    """The hit lies in speech attributed to someone else (same or previous clause), with no
    first person ('我们'/'we') taking the words over between the attribution and the hit."""
    index = hit.clause.index
    before = hit.view_text[:hit.start]
    previous = clauses[index - 1] if index > 0 and clauses[index - 1].index == index - 1 else None
    spans = [before]
    if previous is not None:
        spans.insert(0, (previous.compact if hit.view == "compact" else previous.spaced) + " " + before)
    for span in reversed(spans):
        found = list(reporter.finditer(span))
        if not found:
            continue
        after = span[found[-1].end():]
        if hit.view == "compact":
            after = re.sub(r"^(我们|我司|本公司|我方)", "", after)
            return not _FIRST_PERSON_AFTER_ZH.search(after)
        after = re.sub(r"^\s*(us|our)\b", "", after)
        return not _FIRST_PERSON_AFTER_EN.search(after)
    return False


# ---------------------------------------------------------------------------------------------
# Borrower echo
# ---------------------------------------------------------------------------------------------
_QUOTED = re.compile(r"[“\"「『‘']([^”\"」』’']{1,120})[”\"」』’']")
_REPORTED = re.compile(
    r"(您说|你说|您刚才说|你刚才说|您刚说|您提到|您讲|您骂|you said|you called (?:us|me)|you told me)"
    r"[:：,，]?\s*([^。！？!?；;\n]+)",
    re.IGNORECASE,
)


def strip_echo(text: str, borrower_text: str | None) -> str:
    """Remove spans of ``text`` that quote the borrower verbatim (after normalisation)."""
    if not borrower_text:
        return text
    said = compact(borrower_text)
    if not said:
        return text

    def quoted(m: re.Match[str]) -> str:
        inner = compact(m.group(1))
        return "「」" if inner and inner in said else m.group(0)

    def reported(m: re.Match[str]) -> str:
        inner = compact(m.group(2))
        return m.group(1) + "「」" if inner and inner in said else m.group(0)

    return _REPORTED.sub(reported, _QUOTED.sub(quoted, text))
