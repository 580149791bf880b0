"""What the gateway and the call pipeline say to a borrower outside a Rasa turn, in the conversation's language.
Each notice may reach someone not yet verified: none names a creditor or a debt (tests/unit/test_notices.py)."""
from __future__ import annotations

from datetime import date, datetime

from ledger.phrasebook import Phrasebook
from ledger.wording import wording_for

NOTICES = Phrasebook({
    # Honest about the queue: where the borrower is, and no promise of a time.
    "queued_next": {
        "zh": "已为您排队等候人工专员，您是下一位。专员接入后会直接在这里回复您；"
              "具体等候时间我们无法保证，如果等候较久，我们会为您预约回电。",
        "en": "I've put you in the queue for a person, and you're first in line. They'll reply right here when they "
              "join. We can't promise how long it will take; if the wait is long, we'll book a callback for you.",
    },
    "queued_behind": {
        "zh": "已为您排队等候人工专员，您前面还有{ahead}位客户在等候。专员接入后会直接在这里回复您；"
              "具体等候时间我们无法保证，如果等候较久，我们会为您预约回电。",
        "en": "I've put you in the queue for a person, with {ahead} ahead of you. They'll reply right here when they join. We "
              "can't promise how long it will take; if the wait is long, we'll book a callback for you.",
    },
    "taken": {"zh": "人工专员已接入，接下来由专员为您服务。", "en": "A person has joined and will help you from here."},
    "handed_back": {
        "zh": "人工专员已结束本次服务，接下来由智能助手继续为您服务。如需再次转人工，随时告诉我。",
        "en": "The person has finished, and the automated assistant will continue. Say \"agent\" any time to talk "
              "to a person again.",
    },
    "callback_booked": {
        "zh": "抱歉让您久等了，目前人工专员都在忙。我们已为您预约在{date}{time}左右回电；如果专员在此之前空闲，也会直接在这里回复您。",
        "en": "Sorry for the wait; everyone is busy right now. We've booked a callback for around {time} on "
              "{date}. If someone is free before then, they'll reply right here.",
    },
    "no_callback": {
        "zh": "抱歉让您久等了，目前人工专员都在忙，专员空闲后会直接在这里回复您。",
        "en": "Sorry for the wait; everyone is busy right now. Someone will reply right here as soon as they're free.",
    },
    # On a phone call handed to a person: said by the carrier as it dials the agent line (bot.channels.call_transfer);
    # where no line is configured or the carrier refused, a callback is booked at once and this said instead.
    "transferring": {"zh": "正在为您转接人工专员，请稍候。", "en": "I'm transferring you to a person now. Please hold."},
    "callback_instead_of_transfer": {
        "zh": "抱歉，现在无法为您转接人工专员。我们已为您预约在{date}{time}左右回电，请留意来电。",
        "en": "Sorry, I can't transfer you to a person right now. We've booked a callback for around {time} on {date}; "
              "please keep your phone nearby.",
    },
    "line_unanswered": {
        "zh": "抱歉，人工专员暂时未能接听。我们会按预约的时间给您回电，再见。",
        "en": "Sorry, nobody could take your call just now. We'll call you back at the booked time. Goodbye.",
    },
    # On a call: a silent line, speech the recogniser could not use, and the goodbye after repeated silence.
    "reprompt": {"zh": "您好，请问您还在听吗？", "en": "Hello, are you still there?"},
    "not_understood": {"zh": "抱歉，刚才没有听清，请您再说一遍。", "en": "Sorry, I didn't catch that. Could you say it again?"},
    "silence_goodbye": {
        "zh": "好像听不到您的声音，这次通话先到这里，再见。",
        "en": "I can't seem to hear you, so I'll end the call here. Goodbye.",
    },
    # On a call the dialer placed that the contact policy refused once answered (a cap reached by a race).
    "call_declined": {
        "zh": "您好，这里是客户服务中心，抱歉打扰您了，再见。",
        "en": "Hello, this is the customer service center. Sorry to have disturbed you. Goodbye.",
    },
    # On a call: a number the recogniser was unsure of, or that the policy never allows, read back before use.
    "confirm_heard": {
        "zh": "跟您确认一下，您是说“{heard}”吗？对的请说“是”或按1，不对请说“不是”或按2。",
        "en": "Just to check, did you say \"{heard}\"? Say yes or press 1; say no or press 2.",
    },
    "say_again": {"zh": "好的，请您再说一遍。", "en": "OK, please say it again."},
    # Past the turn cap: leaves the way open.
    "long_conversation": {
        "zh": "这次对话内容比较多，为了更好地为您服务，本次对话先到这里。如需继续沟通，欢迎稍后重新联系我们，也可以随时要求转接人工专员为您处理。",
        "en": "We've covered a lot, so let's stop this conversation here. You're welcome to contact us again "
              "later, or ask for a person at any time.",
    },
})


def notice(language: str, key: str, **values: object) -> str:
    return NOTICES.say(language, key, **values)


def wait_notice(language: str, position: int) -> str:
    return notice(language, "queued_next") if position <= 1 else notice(language, "queued_behind", ahead=position - 1)


def callback_notice(language: str, when: datetime, today: date, key: str = "callback_booked") -> str:
    """`key`: callback_booked (nobody took the conversation in time) or callback_instead_of_transfer (a phone call)."""
    return notice(language, key, date=wording_for(language).date(when.date(), today), time=f"{when:%H:%M}")


def call_notices() -> list[str]:
    """The fixed words of a call, in every language: rendered ahead so a call replays them."""
    return [text for key in ("reprompt", "not_understood", "silence_goodbye", "say_again", "call_declined") for text in NOTICES[key].values()]
