"""Every sentence an action says, in Chinese and English, picked by the conversation's `language` slot (the borrower's
record at session start, then the language they write in). Values ({amount}, {date}, {plan}) are worded by
ledger.wording in the same language and the account's currency. Each text passes the compliance filter for the
verification state it can be said in (tests/unit/test_replies.py).

Fixed responses the forms and rules say (utter_*) live in domain.yml with an English variation conditioned on the
same slot.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from rasa_sdk import Tracker

from actions.conversation_context import channel, is_voice
from ledger.errors import PolicyViolation
from ledger.phrasebook import Phrasebook, spoken_language
from ledger.policy import CollectionPolicy, promise_window
from ledger.views import AccountView
from ledger.wording import Wording, wording_for

REPLIES = Phrasebook({
    # Verification
    "id_mismatch": {
        "zh": "您提供的信息与我们的记录不一致，请再核对一下。",
        "en": "That doesn't match our records. Could you check and try again?",
    },
    # One ending for a wrong answer, an unknown borrower id and a locked check alike: a distinct lockout reply would
    # tell a guesser that the id is a real borrower's (unknown ids never lock). It still tells the borrower why.
    "verification_failed": {
        "zh": "抱歉，身份信息核对未通过，本次沟通先到这里。多次核对未通过后，核实会暂停一段时间。"
              "如有疑问，请通过官方客服渠道联系我们，再见。",
        "en": "Sorry, we couldn't confirm your identity, so we'll stop here. After several unsuccessful tries, "
              "verification is paused for a while. If you have questions, please contact us through our official "
              "customer service. Goodbye.",
    },
    "verification_refused": {
        "zh": "由于无法核实您的身份，我们不能继续沟通。如有需要，您可以通过官方客服渠道联系我们。再见。",
        "en": "Since we can't confirm who we're speaking with, we can't continue. You can reach us any time through "
              "our official customer service. Goodbye.",
    },
    "wrong_party": {
        "zh": "抱歉打扰您了，我们会核实联系方式。祝您生活愉快，再见。",
        "en": "Sorry to have bothered you. We'll check our contact details. Have a good day, goodbye.",
    },
    "verified": {
        "zh": "谢谢您的配合，身份核实通过。",
        "en": "Thank you, you're verified.",
    },
    # US accounts (FDCPA 15 USC 1692e(11), Reg F): said once identity is verified, in the conversation's language.
    "debt_collector_disclosure": {
        "zh": "这是{lender}的债务催收沟通，所获取的任何信息都将用于此目的。",
        "en": "This is {lender}. This is an attempt to collect a debt, and any information obtained will be used "
              "for that purpose.",
    },
    # Account
    "no_debt": {"zh": "经查询，您目前没有待还的欠款。", "en": "I've checked, and you have nothing outstanding right now."},
    "balance_spoken": {
        "zh": "您在{lender}的借款当前应还{balance}，已逾期{days}天。请问是什么原因导致逾期的呢？您今天方便全额还款吗？",
        "en": "Your balance with {lender} is {balance}, {days} days past due. May I ask what made the payment late? "
              "Would you be able to pay it in full today?",
    },
    "balance_written": {
        "zh": "您在{lender}的借款当前应还{balance}（本金{principal}、利息{interest}、逾期费用{fees}），"
              "到期日是{due}，目前已逾期{days}天。请问是什么原因导致逾期的呢？您今天方便全额还款吗？",
        "en": "Your balance with {lender} is {balance} (principal {principal}, interest {interest}, late fees "
              "{fees}). It was due on {due} and is {days} days past due. May I ask what made the payment late? "
              "Would you be able to pay it in full today?",
    },
    "balance_not_yet_due_spoken": {
        "zh": "您在{lender}的借款应还{balance}，还款日是{due}。温馨提醒您按时还款，请问到时方便还款吗？",
        "en": "Your balance with {lender} is {balance}, due {due}. This is a friendly reminder before the due date. "
              "Will you be able to pay on time?",
    },
    "balance_not_yet_due_written": {
        "zh": "您在{lender}的借款应还{balance}（本金{principal}、利息{interest}、其他费用{fees}），还款日是{due}。"
              "温馨提醒您按时还款，请问到时方便还款吗？",
        "en": "Your balance with {lender} is {balance} (principal {principal}, interest {interest}, fees {fees}), "
              "due {due}. This is a friendly reminder before the due date. Will you be able to pay on time?",
    },
    # On a call the lender's dialer placed for an overdue account, the reason for the call in the tone of the strategy's
    # script variant (campaigns/strategy.yml); each ends asking whether the borrower can pay in full, so the dialogue's
    # next step is the same (yes: pay in full; no: a plan). Spoken only: a script comes only with a call.
    "balance_gentle_spoken": {
        "zh": "今天给您来电，是想提醒您：您在{lender}的借款当前应还{balance}，已逾期{days}天。"
              "如果还款上有什么不方便，可以和我说说，我们一起看看怎么安排。请问您今天方便全额还款吗？",
        "en": "We're calling with a reminder: your balance with {lender} is {balance}, {days} days past due. If "
              "something is making payment difficult, tell me and we'll work out what's possible. Would you be "
              "able to pay it in full today?",
    },
    # Firm but lawful: the facts, and the next steps the lender's policy allows (a date within the promise window, a
    # plan); never a consequence the lender has not decided on.
    "balance_firm_spoken": {
        "zh": "您在{lender}的借款当前应还{balance}，已逾期{days}天，需要尽快处理。根据还款政策，还款日期最晚可以约定在"
              "{latest}，一次还清有困难也可以申请分期。如果一直未处理，我们会按规定继续与您联系。请问您今天能全额还款吗？",
        "en": "Your balance with {lender} is {balance}, {days} days past due, and it needs to be resolved. Under the "
              "repayment policy, you can arrange to pay by {latest} at the latest, or ask for a payment plan if "
              "paying at once is hard. If it stays unresolved, we will keep contacting you as the rules allow. "
              "Would you be able to pay it in full today?",
    },
    "balance_hardship_spoken": {
        "zh": "了解到您之前反映过经济上的困难，我们会尽量帮您想办法。您在{lender}的借款当前应还{balance}，已逾期{days}天。"
              "针对困难情况，可以为您办理免手续费的分期，最长可分{periods}期。请问您目前能一次还清吗？如果不能，我为您办理分期。",
        "en": "We understand you told us about financial hardship, and we want to help. Your balance with {lender} "
              "is {balance}, {days} days past due. Because of the hardship, we can set up a payment plan with no "
              "plan fee, over up to {periods} payments. Could you pay it all at once right now? If not, I'll set up "
              "the plan for you.",
    },
    # The same when the account allows no plan length (a balance too small to split).
    "balance_hardship_no_plan_spoken": {
        "zh": "了解到您之前反映过经济上的困难，我们会尽量帮您想办法。您在{lender}的借款当前应还{balance}，已逾期{days}天。"
              "如果一次还清有困难，可以告诉我您能先还多少、哪天还，也可以说“转人工”，由人工专员和您商量。请问您目前能一次还清吗？",
        "en": "We understand you told us about financial hardship, and we want to help. Your balance with {lender} "
              "is {balance}, {days} days past due. If paying it all at once is hard, tell me how much you could pay "
              "first and when, or say \"agent\" and a person will work it out with you. Could you pay it all at "
              "once right now?",
    },
    "full_payment_recorded": {
        "zh": "好的，已为您登记：{date}前全额还款{amount}。",
        "en": "Got it. I've noted that you'll pay the full {amount} by {date}.",
    },
    # Promises
    "amount_not_heard": {"zh": "抱歉，我没有听清金额，请再说一次。", "en": "Sorry, I didn't catch the amount. Could you say it again?"},
    "amount_out_of_range": {
        "zh": "还款金额需要大于0元，且不超过您当前的应还金额{balance}。",
        "en": "The amount needs to be more than zero and no more than your balance of {balance}.",
    },
    "date_not_heard": {"zh": "抱歉，我没有听清日期，请再说一次。", "en": "Sorry, I didn't catch the date. Could you say it again?"},
    "date_out_of_window": {
        "zh": "根据还款政策，约定的还款日期需要在{earliest}到{latest}之间。",
        "en": "Under the repayment policy, the payment date needs to be between {earliest} and {latest}.",
    },
    "ask_pay_within_window": {
        "zh": "根据还款政策，还款日期需要在{earliest}到{latest}之间。请问您能在这个期限内还清吗？",
        "en": "Under the repayment policy, the payment date needs to be between {earliest} and {latest}. "
              "Could you pay it off within that time?",
    },
    "promise_not_recorded": {
        "zh": "抱歉，还款约定没有记录成功，我为您转接人工专员处理。",
        "en": "Sorry, I couldn't record that arrangement. I'll get a person to help you with it.",
    },
    "promise_recorded": {"zh": "好的，已为您记录：{date}前还款{amount}。", "en": "Got it. I've noted a payment of {amount} by {date}."},
    "promise_remaining": {
        "zh": "还款后剩余{remaining}，我们会再与您约定。",
        "en": " That leaves {remaining}, which we can arrange later.",
    },
    "request_not_allowed": {
        "zh": "抱歉，这个安排不符合还款政策。我可以为您转接人工专员商量其他方案。",
        "en": "Sorry, that arrangement isn't possible under the repayment policy. I can get a person to discuss "
              "other options with you.",
    },
    # Plans
    "no_plan_possible": {
        "zh": "根据您账户的情况，暂时无法办理分期。我可以为您转接人工专员商量其他方案。",
        "en": "A payment plan isn't available for your account right now. I can get a person to discuss other "
              "options with you.",
    },
    "plan_options_note": {"zh": "根据还款政策，您的账户可选{options}期。", "en": "Under the repayment policy, your account can be split into {options} payments. "},
    "plan_offer": {"zh": "可以为您申请{plan}您同意这个方案吗？", "en": "I can set up {plan} Does that work for you?"},
    "no_pending_plan": {
        "zh": "抱歉，我没有找到待确认的分期方案。您希望分几期呢？",
        "en": "Sorry, I don't have a plan waiting for your answer. How many payments would you like?",
    },
    "plan_accepted": {
        "zh": "好的，分{periods}期方案已确认，共{total}。第一期{first_amount}请在{first_due}前还款。",
        "en": "Great, the {periods}-payment plan is confirmed, {total} in total. The first payment of "
              "{first_amount} is due by {first_due}.",
    },
    "plan_declined": {
        "zh": "好的。您希望分几期呢？{choices}也可以告诉我您能先还多少、哪天还。",
        "en": "OK. How many payments would you like? {choices}Or tell me how much you could pay first, and when.",
    },
    "plan_choices": {"zh": "可选{options}期，", "en": "You can choose {options}. "},
    # On a phone call a yes-or-no question that settles a plan or a promise also takes its answer from the keypad
    # (keyed_question): which key is which, said after the question, and the words each key stands for.
    "keys_confirm": {"zh": "确认请按1，不同意请按2。", "en": " Press 1 to confirm, or 2 to decline."},
    "keys_yes_no": {"zh": "方便请按1，不方便请按2。", "en": " Press 1 for yes, or 2 for no."},
    "keyed_yes": {"zh": "确认", "en": "yes please"},
    "keyed_no": {"zh": "不同意", "en": "no"},
    # Requests
    "extension_granted": {
        "zh": "根据还款政策，可以为您把还款日延至{date}，请在这之前还清{balance}。",
        "en": "Under the repayment policy, I can move your due date to {date}. Please pay the {balance} by then.",
    },
    "extension_too_long": {
        "zh": "很抱歉，根据还款政策，最长只能延期{days}天。如果时间不够，也可以考虑分期，您需要吗？",
        "en": "Sorry, under the repayment policy the longest extension is {days} days. If that's not enough time, "
              "a payment plan is another option. Would you like one?",
    },
    "extension_refused": {
        "zh": "很抱歉，您的账户目前不符合延期条件。如果一次还清有困难，可以考虑分期，您希望分几期呢？",
        "en": "Sorry, your account doesn't qualify for an extension right now. If paying it all at once is hard, "
              "we can split it. How many payments would you like?",
    },
    "waiver_granted": {
        "zh": "根据减免政策，可以为您减免逾期费用{waived}，减免后应还{balance}。减免以您按约定时间还款为前提。",
        "en": "Under the waiver policy, I can waive {waived} in late fees, which brings the balance to {balance}. "
              "The waiver depends on paying on the agreed date.",
    },
    "no_fees": {"zh": "您的账户目前没有产生逾期费用，无需减免。", "en": "There are no late fees on your account, so there's nothing to waive."},
    "waiver_refused": {
        "zh": "很抱歉，根据减免政策，您的账户暂不符合减免条件。如有特殊困难，可以告诉我，或转人工专员评估。",
        "en": "Sorry, under the waiver policy your account doesn't qualify right now. If you're facing a "
              "particular hardship, tell me, or I can get a person to review it.",
    },
    # Claims
    "hardship_recorded": {
        "zh": "非常理解您现在的困难，已经为您登记。如果您希望和人工专员商量，随时可以说“转人工”。",
        "en": "I'm sorry things are hard right now. I've noted it. If you'd like to talk it through with a person, "
              "just say \"agent\" at any time.",
    },
    "claim_for_review": {
        "zh": "好的，已记录您反映的情况，会由人工专员核实后跟进处理。",
        "en": "OK, I've noted what you told me. A person will look into it and follow up.",
    },
    "dispute_recorded": {
        "zh": "已记录您的异议。核实期间我们会暂停催收，并由人工专员在2个工作日内与您联系核实。",
        "en": "I've recorded your dispute. We'll pause collection while it's reviewed, and a person will contact "
              "you within 2 business days.",
    },
    "paid_claim_recorded": {
        "zh": "好的，已记录您反映{said}的情况。我们会在1至3个工作日内核对入账，请保留好还款凭证。核对期间如有疑问，可以随时联系我们。",
        "en": "OK, I've noted that you {said}. We'll check our records within 1 to 3 business days. Please keep "
              "your payment receipt. If you have questions in the meantime, contact us any time.",
    },
    "paid_said_plain": {"zh": "已经还款", "en": "already paid"},
    "paid_said_amount": {"zh": "还款{amount}", "en": "paid {amount}"},
    "paid_said_date": {"zh": "于{date}还款", "en": "paid on {date}"},
    "paid_said_amount_date": {"zh": "于{date}还款{amount}", "en": "paid {amount} on {date}"},
    # Contact
    "callback_booked": {
        "zh": "好的，不打扰您了。我们会在{date}{time}左右再联系您，再见。",
        "en": "OK, I'll let you go. We'll call you back around {time} on {date}. Goodbye.",
    },
    "stop_request_for_review": {
        "zh": "好的，已记录您的要求，工作人员核实后会尽快处理。打扰您了，再见。",
        "en": "OK, I've noted your request. Our staff will review it and act on it soon. Sorry to have bothered "
              "you. Goodbye.",
    },
    "contact_stopped": {
        "zh": "好的，已记录您的要求，我们将停止主动联系您。如需处理账户，您可以随时通过官方App或客服热线联系我们。再见。",
        "en": "OK, I've recorded your request and we'll stop contacting you. If you need anything about your "
              "account, you can reach us through the official app or customer service line. Goodbye.",
    },
    "ask_stop_confirmation": {
        "zh": "抱歉，频繁的联系给您添麻烦了。您是希望我们以后不再联系您吗？",
        "en": "I'm sorry the calls have been a bother. Would you like us to stop contacting you?",
    },
    "keep_contact": {"zh": "好的，谢谢您的理解。", "en": "OK, thank you for understanding."},
    "how_can_i_help": {"zh": "请问有什么可以帮您？", "en": "How can I help you?"},
    "abuse_calm": {
        "zh": "理解您现在心情不好。我们希望和您一起找到解决办法，请您平和地沟通。",
        "en": "I understand you're upset. We want to find a way through this with you, so let's keep it calm.",
    },
    "abuse_end": {
        "zh": "由于目前无法继续沟通，本次{conversation}先到这里。如需帮助，您可以随时联系我们。再见。",
        "en": "Since we can't continue right now, we'll end this {conversation} here. If you need help, you can "
              "contact us any time. Goodbye.",
    },
    "human_requested": {"zh": "好的，已为您申请转接人工专员，请稍候。", "en": "Sure, I've asked for a person to join. Please hold on."},
    "closing_summary": {"zh": "本次{conversation}小结：{summary}", "en": "To sum up this {conversation}: {summary} "},
    "goodbye": {"zh": "感谢您的接听，再见。", "en": "Thank you for your time. Goodbye."},
    "summary_promise": {"zh": "您承诺{date}前还款{amount}", "en": "you'll pay {amount} by {date}"},
    "summary_plan": {
        "zh": "分{periods}期还款共{total}，首期{first_due}还{first_amount}",
        "en": "{periods} payments totalling {total}, the first of {first_amount} by {first_due}",
    },
    "summary_dispute": {"zh": "已登记您的异议", "en": "your dispute is recorded"},
    "summary_paid": {"zh": "已登记您的还款核对申请", "en": "we'll check the payment you told us about"},
    "summary_hardship": {"zh": "已登记您的困难情况", "en": "your hardship is noted"},
    "summary_separator": {"zh": "；", "en": "; "},
    "summary_end": {"zh": "。", "en": "."},
    # Repair
    "repair_greet": {"zh": "您好。", "en": "Hi."},
    "repair_check_hearing": {"zh": "我能听到您。", "en": "Yes, I can hear you."},
    "repair_ask_repeat": {"zh": "好的，我再说一遍。", "en": "Sure, let me say that again."},
    "repair_ask_to_wait": {"zh": "好的，不着急，我等您。", "en": "Sure, take your time. I'll wait."},
    "misunderstood": {"zh": "抱歉，我没有听明白。", "en": "Sorry, I didn't understand that."},
    "misunderstood_say_again": {"zh": "抱歉，我没有听明白，请您再说一遍。", "en": "Sorry, I didn't understand that. Could you say it again?"},
    "misunderstood_verified": {
        "zh": "抱歉，我没有听明白。您可以告诉我打算哪天还、还多少，或者说“分期”“转人工”。",
        "en": "Sorry, I didn't understand that. You can tell me when and how much you can pay, or say \"payment "
              "plan\" or \"agent\".",
    },
    "misunderstood_handed_off": {
        "zh": "抱歉，我可能没能理解您的意思，已为您申请转接人工专员，请稍候。",
        "en": "Sorry, I may not be understanding you. I've asked for a person to join. Please hold on.",
    },
    # Digits that cannot be the four asked for ("后四位是05690"): say what was wrong instead of "not understood".
    "not_four_digits": {"zh": "您说的数字不是四位。", "en": "That wasn't four digits."},
    # Distress: what the gateway's detector saw (message metadata); the NLU intent alone means self-harm risk.
    "distress_self_harm": {
        "zh": "听到您这么说，我们很担心您。关于还款的事情现在先放一放，我马上为您转接人工专员。"
              "如果您有伤害自己的想法，请立即拨打心理援助热线12356或400-161-9995，紧急情况请拨打120或110。",
        "en": "I'm really concerned to hear that. Let's set the payment aside. I'm getting a person to talk with "
              "you right now. If you're thinking about hurting yourself, please call or text 988, the Suicide and "
              "Crisis Lifeline, or call 911 in an emergency.",
    },
    "distress_severe_illness": {
        "zh": "听到您和家人正在经历病痛，我们很难过。还款的事情现在先放一放，我马上为您转接人工专员，一起商量合适的安排。",
        "en": "I'm so sorry you and your family are going through this illness. Let's set the payment aside. I'm "
              "getting a person to work out something suitable with you.",
    },
    "distress_bereavement": {
        "zh": "听到您家里的不幸，请节哀。还款的事情现在先放一放，我马上为您转接人工专员，他们会为您提供帮助。",
        "en": "I'm very sorry for your loss. Let's set the payment aside. I'm getting a person who can help you.",
    },
    "distress_threatened": {
        "zh": "您的安全最重要。如果有人威胁或恐吓您，请立即拨打110报警。我们不会以任何方式威胁您，现在为您转接人工专员。",
        "en": "Your safety comes first. If anyone is threatening you, please call 911. We will never threaten you "
              "in any way. I'm getting a person to talk with you now.",
    },
    # Before verification the reply names no debt: whoever answered may not be the borrower.
    "distress_self_harm_unverified": {
        "zh": "听到您这么说，我们很担心您。我马上为您转接人工专员。"
              "如果您有伤害自己的想法，请立即拨打心理援助热线12356或400-161-9995，紧急情况请拨打120或110。",
        "en": "I'm really concerned to hear that. I'm getting a person to talk with you right now. If you're "
              "thinking about hurting yourself, please call or text 988, the Suicide and Crisis Lifeline, or call "
              "911 in an emergency.",
    },
    "distress_severe_illness_unverified": {
        "zh": "听到您和家人正在经历病痛，我们很难过。我马上为您转接人工专员，他们会为您提供帮助。",
        "en": "I'm so sorry you and your family are going through this. I'm getting a person who can help you.",
    },
    "distress_bereavement_unverified": {
        "zh": "听到您家里的不幸，请节哀。我马上为您转接人工专员，他们会为您提供帮助。",
        "en": "I'm very sorry for your loss. I'm getting a person who can help you.",
    },
})
DISTRESS_KINDS = ("self_harm", "severe_illness", "bereavement", "threatened")


def language(tracker: Tracker) -> str:
    return spoken_language(tracker.get_slot("language"))


_CONVERSATION_WORDS = {("zh", True): "通话", ("zh", False): "对话", ("en", True): "call", ("en", False): "chat"}


def reply(tracker: Tracker, key: str, **values: object) -> str:
    """The sentence `key` in the conversation's language, with `values` filled in; {conversation} is the call or
    the chat, whichever this is."""
    spoken = language(tracker)
    return REPLIES.say(spoken, key, conversation=_CONVERSATION_WORDS[(spoken, is_voice(tracker))], **values)


def keyed_question(tracker: Tracker, question: str, keys: str) -> dict[str, Any]:
    """`dispatcher.utter_message` arguments for a yes-or-no `question`. On a phone call the question also says which
    key answers what (the reply `keys`) and carries, as buttons in key order, the words each key stands for: the
    call sends them to the dialogue for a keyed 1 or 2 (voice/call.py), and the NLU reads them as the answer."""
    if channel(tracker) != "phone":
        return {"text": question}
    answers = [reply(tracker, "keyed_yes"), reply(tracker, "keyed_no")]
    return {"text": question + reply(tracker, keys),
            "buttons": [{"title": str(key), "payload": answer} for key, answer in enumerate(answers, start=1)]}


def wording(tracker: Tracker, account: AccountView | None = None) -> Wording:
    """Amounts, dates and plans in the conversation's language and the account's currency."""
    return wording_for(language(tracker), account.currency if account is not None else "CNY")


def refusal_reply(tracker: Tracker, refusal: PolicyViolation, account: AccountView, today: date, policy: CollectionPolicy,
                  window_key: str = "date_out_of_window") -> str:
    """What the borrower hears when the policy refuses an arrangement: the allowed dates for a date outside the
    window, otherwise an offer of a person. (The violation's own message is for operators, in English.)"""
    if refusal.code != "date_outside_window":
        return reply(tracker, "request_not_allowed")
    earliest, latest = promise_window(account.risk_tier, today, policy)
    words = wording(tracker, account)
    return reply(tracker, window_key, earliest=words.date(earliest, today), latest=words.date(latest, today))
