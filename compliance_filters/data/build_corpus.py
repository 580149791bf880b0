"""Builds compliance_filters/data/corpus.tsv from the explicit phrase lists below.

    python -m compliance_filters.data.build_corpus

The TSV is committed and is the source of truth; this script only documents how it was written
and regenerates it byte-for-byte (fixed seed). Columns: text, label, lang, kind.

Every phrase here was written by hand for this project. Sentences are put together as
prefix + core + suffix; a category's combinations are shuffled once (fixed seed) and dealt out to
plain rows and to evasion rows (Traditional script, full-width, characters split by spaces or
symbols, pinyin / homophones, mixed Chinese-English), so an evasion row is never just a disguised
copy of a plain row. Rows are de-duplicated on the classifier's normalised text.
"""
from __future__ import annotations

import itertools
import random
from pathlib import Path

from opencc import OpenCC

from compliance_filters.classifier import normalise_for_model

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus.tsv"
SEED = 20250228

_S2T = OpenCC("s2t")

ZH_NAMES = ["", "张先生，", "李女士，", "王先生，", "陈女士，", "刘先生，", "赵女士，", "周先生，", "您好，"]
EN_NAMES = ["", "Mr. Zhang, ", "Ms. Li, ", "Mr. Smith, ", "Ms. Garcia, ", "John, ", "Hello, ", "Hi Maria, "]
ZH_YOU = ["", "张三，", "老王，", "李四，", "你听好了，", "喂，", "我告诉你，"]
EN_YOU = ["", "Listen, ", "Hey, ", "Listen to me, ", "Mark, ", "Look, "]


def combos(*parts: list[str]) -> list[str]:
    return ["".join(p).strip() for p in itertools.product(*parts)]


# ------------------------------------------------------------------------------------------
# Blocked categories: (zh parts, en parts, zh-en mixed sentences, pinyin/homophone sentences)
# ------------------------------------------------------------------------------------------

VIOLENCE_ZH = combos(
    ZH_YOU,
    ["再不还钱，", "今天不还，", "敢不还，", "还装死？", ""],
    ["我们的人", "我兄弟们", "外访组", "我", "有人", "我们的催收员"],
    ["今晚", "明天", "过两天", "马上", "这周末", ""],
    ["就上门打断你的腿", "去你家把门砸了", "在你家楼下等着收拾你", "找几个人好好招呼你", "卸你一条胳膊",
     "把你的车砸烂", "放火烧了你家", "让你见血", "把你拖出来打一顿", "让你横着出门",
     "去你单位门口堵你揍你", "拿刀去找你", "让你在医院躺半年", "把你弄残", "让你尝尝拳头的滋味",
     "把你绑走", "让你活不过这个月", "把你腿打折", "往你家泼油漆再揍你", "对你动手"],
    ["", "，你等着", "，不信试试", "，别怪我没提醒你"],
)
VIOLENCE_EN = combos(
    EN_YOU,
    ["If you don't pay today, ", "Pay up or ", "Keep ignoring us and ", "Last warning: ", ""],
    ["we ", "our guys ", "my boys ", "someone ", "our field team "],
    ["will come to your house and break your legs", "are going to smash your car", "will beat you up",
     "will hurt you badly", "will make sure you end up in the hospital", "will burn your house down",
     "will show up and rough you up", "will break every window in your house", "will find you and make you bleed",
     "will teach you a lesson with our fists", "are going to put you in a wheelchair",
     "will drag you out of your home and beat you", "will break your fingers one by one", "will hurt your kids"],
    ["", " tonight", " tomorrow", " this weekend"],
)
VIOLENCE_MIX = [
    "再不还钱我们就 come to your house 打断你的腿", "不还钱 we will beat you up，听懂没", "今晚 my boys 去你家砸门",
    "你等着，我们会 break your legs", "再拖就让你 end up in the hospital", "我们的人 will find you，让你见血",
    "you better pay 不然打残你", "我兄弟 tonight 就去 smash your car", "欠钱不还？kill you 都有可能",
    "明天 field team 上门揍你一顿",
]
VIOLENCE_PY = [
    "再不还就da duan ni de tui", "今晚去你家za men", "信不信我们sha了你", "我们会上门揍ni", "让你jian xue",
    "找人nong can你", "小心你的tui", "等着挨da吧", "把你家门zá了", "我们的人会去ou打你",
]

THIRD_ZH = combos(
    ZH_YOU,
    ["再不还，", "今天不处理的话，", "你不接电话，", ""],
    ["我们就", "我们会", "我现在就", "今天下午我们将", "我们只能"],
    ["联系你的家人", "打电话给你爸妈", "告诉你老婆你欠钱不还", "通知你们单位领导", "打给你的同事",
     "把你欠款的事告诉你们公司人事", "给你通讯录里的每个人打电话", "爆你的通讯录", "给你紧急联系人发催收短信",
     "找你的朋友替你还钱", "联系你孩子的班主任", "去你公司找你老板", "挨个打你通讯录里的人",
     "让你亲戚朋友都知道你欠钱", "告诉你的邻居你欠了多少钱", "给你的前同事发消息说你欠债", "打给你岳父岳母",
     "让你兄弟姐妹替你还", "联系你的房东", "给你微信好友群发你的欠款"],
    ["", "，你自己看着办", "，让大家评评理", "，到时候别后悔"],
)
THIRD_EN = combos(
    EN_YOU,
    ["If you don't pay, ", "Unless we get the money today, ", "Since you won't answer, ", ""],
    ["we will ", "we're going to ", "I'll ", "our team will "],
    ["contact your family", "call your parents about this debt", "tell your wife you owe us money", "call your employer",
     "notify your boss about the debt", "reach out to everyone in your contact list", "call your coworkers",
     "let your neighbors know you owe us", "message your friends about your debt", "contact your HR department",
     "call your kids' school", "text all your phone contacts", "tell your brother to pay for you",
     "call your landlord about the debt"],
    ["", " today", " right now"],
)
THIRD_MIX = [
    "不还的话我们会 call your boss", "我们会 contact 你的 family", "今天就打给你的 HR", "把你欠钱的事告诉你 coworkers",
    "再不还就给你 contact list 每个人打电话", "我们会 text 你所有的联系人", "让你 parents 替你还",
    "call 你老婆告诉她你欠钱", "你的 emergency contact 我们马上联系", "我去跟你 manager 说说你欠债的事",
]
THIRD_PY = [
    "再不还就爆你tong xun lu", "爆你txl", "给你通迅录每个人打电话", "我们会联系你jia ren", "打给你ba ma",
    "通知你们单位ling dao", "去找你lao ban谈谈你欠钱的事", "给你同shi挨个打电话", "爆你通讯彔", "联系你lao po说你欠钱",
]

IMPERS_ZH = combos(
    ["", "喂，", "你好，", "注意，"],
    ["我是市公安局经侦支队的", "这里是人民法院执行局", "我们是检察院的", "我是律师事务所的王律师", "我是派出所民警",
     "本人是法院执行法官", "这是公安局的正式通知", "我是金融监管局的工作人员", "这是仲裁委员会的传唤",
     "我们是法院委托的执行人员", "我是网警", "我是区人民检察院的李检察官", "我这边是公安部门",
     "我是法务部的执业律师", "我是政府综治办的"],
    ["，你的欠款案件已经立案", "，请你配合调查", "，现在通知你立即还款", "，你涉嫌恶意透支", "，你的账户已被列为涉案账户",
     "，限你今天把钱还上", ""],
)
IMPERS_EN = combos(
    ["", "Hello, ", "Attention: "],
    ["this is Officer Brown from the police department", "I'm calling from the county court", "this is the district attorney's office",
     "I am an attorney representing the lender", "this is the sheriff's office", "I'm a federal agent",
     "this call is from the IRS", "we are with the FBI financial crimes unit", "this is a court officer",
     "I'm calling on behalf of the state prosecutor", "this is Detective Lee with the fraud squad", "I'm a judge's clerk"],
    ["", " and a case has been opened against you", " and you need to pay today", " regarding your unpaid loan"],
)
IMPERS_MIX = [
    "我是 police，你的案子已经立案", "这里是 court，限你今天还钱", "我是你贷款的 lawyer，代表法院通知你", "I'm from 公安局经侦",
    "我们是 FBI 合作的执法部门", "This is 人民法院执行局", "我是 attorney 王律师", "这边是 sheriff office，请配合",
    "我是 officer 李，你涉嫌诈骗", "法院 officer 通知你，明天前必须还款",
]
IMPERS_PY = [
    "我是gong an局的", "这里是fa yuan执行局", "我是jing cha，你的案子立了", "我是lü shi，代表法院通知你", "我们是jian cha院的",
    "我是派出所min jing", "这是gong安局正式通知", "我是法yuan执行法官", "我是律丝，代表法院", "本人是法院的fa guan",
]

FALSE_ZH = combos(
    ["再不还，", "如果今天不处理，", "逾期这么久了，", "告诉你，", "", "不还钱的话，"],
    ["你就等着坐牢吧", "你这是诈骗罪，马上抓你", "警察明天上门抓人", "你会被列入黑名单，子女不能上学",
     "你会被限高，全家都坐不了高铁", "我们会冻结你家人的银行账户", "你孩子以后考不了公务员", "你的房子会被立刻查封",
     "今天就让你被拘留", "你会被判刑三年", "你父母的社保会被停掉", "你这辈子都坐不了飞机", "你的手机号会被注销",
     "你老婆的工资卡会被冻结", "你会留下案底", "你会被刑事拘留", "你孩子会被取消入学资格", "你欠的钱由你爸妈承担",
     "明天就有执法人员上门抓你", "你的身份证会被作废"],
    ["", "，后果自负", "，别说我没提醒你", "，你自己想清楚"],
)
FALSE_EN = combos(
    ["If you don't pay, ", "Unless you pay today, ", "Listen, ", "", "Keep ignoring this and "],
    ["you will go to jail", "you'll be arrested tomorrow", "we will have a warrant issued for your arrest",
     "your children won't be allowed to go to school", "we will freeze your parents' bank accounts",
     "you'll be charged with fraud and locked up", "your wife will have to pay your debt", "you'll lose your passport",
     "you will be deported", "your driver's license will be revoked today", "the police will come for you",
     "you'll have a criminal record", "we'll seize your house next week", "your family's accounts will be frozen"],
    ["", ", no question about it", ", I guarantee it"],
)
FALSE_MIX = [
    "不还钱你会 go to jail", "你会被 arrest，明天警察上门", "你的 kids 不能上学了", "我们会 freeze 你父母的账户",
    "你会有 criminal record，一辈子完了", "you will 坐牢 for this", "限高 + 黑名单，你 family 都受影响",
    "你 wife 的工资卡会被 freeze", "逾期就是 fraud，要判刑的", "明天 police 来抓你",
]
FALSE_PY = [
    "不还就让你zuo lao", "你等着被zhua吧", "你孩子上不了xue", "全家被限gao", "你会进hei ming dan，孩子不能上学",
    "冻结你家人的zhang hu", "你会被ju liu", "判你san nian", "你会留an di", "你会被xing ju",
]

INSULT_CORE_ZH = ["废物", "老赖", "垃圾", "不要脸的东西", "没用的东西", "穷鬼", "骗子", "贱人", "无赖", "人渣",
                  "蠢货", "白眼狼", "死皮赖脸的东西", "缩头乌龟", "社会败类", "下三滥"]
INSULT_ZH = combos(
    ["", "张三，", "喂，", "我说你，"],
    ["你这个", "你就是个", "你个", "真是个", "你们全家都是"],
    INSULT_CORE_ZH,
    ["，还钱！", "，欠钱不还", "！", "，听懂了吗", "，丢人现眼"],
) + combos(
    ["", "喂，"],
    ["你脑子有病吧", "你是猪吗", "你这种人就该去死", "你妈没教你做人吗", "你算什么东西", "狗都比你讲信用",
     "滚一边去", "你还要不要脸", "你怎么不去死", "你活着就是浪费空气"],
    ["", "，欠钱不还", "！"],
)
INSULT_EN = combos(
    EN_YOU,
    ["you worthless piece of garbage", "you deadbeat", "you lying scumbag", "you pathetic loser", "you idiot",
     "you stupid moron", "you're a disgrace", "you're trash", "you useless bum", "what a lowlife you are",
     "shut up, you freeloader", "you filthy cheat", "you brainless leech", "you're a waste of space"],
    ["", ", pay up", ", just pay", "!"],
)
INSULT_MIX = [
    "你个 loser，还钱", "你真是 trash", "你这个 deadbeat 老赖", "你就是个 idiot", "shut up 你个废物", "you are 垃圾",
    "你这种 scumbag 就该去死", "stupid 老赖", "你个 moron，欠钱不还", "what a 穷鬼",
]
INSULT_PY = [
    "你个sb", "你个SB老赖", "你真是个傻b", "煞笔，还钱", "你这个沙比", "shabi，欠钱不还", "nmsl", "cnm，还钱", "草泥马的还钱",
    "你就是个laji", "辣鸡，还钱", "你个fw", "你这个废wu", "你个lao lai", "蠢huo", "你个nt", "脑瘫吧你", "你是nc吧",
    "你个zz", "你妈的还钱", "tmd还钱", "你个狗东xi", "你个傻叉", "sha bi东西", "你个贱ren", "ren zha", "ni ma de",
    "你个l0ser", "you id10t", "p1ece of sh!t", "stfu and pay", "you a$$hole", "sc*mbag", "what a b1tch",
]

HARASS_ZH = combos(
    ZH_YOU,
    ["不还的话，", "你不接是吧，", "", "从今天起，"],
    ["我们会每天给你打一百个电话", "今晚十二点我再打给你", "半夜我们会一直打到你接为止", "我们会用呼死你软件轰炸你的手机",
     "每天凌晨两点给你打电话", "我就一直打，打到你手机没电", "我们会天天派人守在你家门口", "我们会不停地给你发短信直到你崩溃",
     "我们会24小时轮流打给你", "你换号也没用，我们照样天天打", "每隔五分钟打你一次", "深夜也会继续催你",
     "凌晨也不会停", "明天早上六点准时打给你", "每晚十一点以后给你打", "我们会呼死你",
     "让你手机一整晚响个不停", "上班时间一直打你座机"],
    ["", "，直到你还钱为止", "，看谁耗得过谁"],
)
HARASS_EN = combos(
    EN_YOU,
    ["If you keep ignoring us, ", "From now on, ", "", "Until you pay, "],
    ["we'll call you a hundred times a day", "we'll keep calling you all night", "expect calls at 3 a.m.",
     "we'll flood your phone with calls and texts", "we will call you every hour, day and night", "we'll call you at midnight",
     "we'll keep ringing until your phone dies", "we'll have someone camp outside your door every day",
     "we'll call you at work nonstop", "we'll text you every five minutes", "your phone will not stop ringing at night",
     "we'll call you at 5 in the morning every day"],
    ["", " until you pay", ", see who gives up first"],
)
HARASS_MIX = [
    "我们会 call you 一百次 every day", "半夜 3 a.m. 继续打给你", "we will 呼死你", "每隔 five minutes 打你一次",
    "你换号也没用 we'll keep calling", "今晚 midnight 我再打", "24 hours 轮流 call 你", "text 轰炸你的手机直到你还钱",
    "nonstop 打你公司座机", "凌晨 call you 直到你接",
]
HARASS_PY = [
    "我们会hu si ni", "半夜继续da给你", "每天打你yi bai ci", "凌晨两点给你da dian hua", "用呼死ni软件轰炸",
    "24xiao时轮流打", "你换号也没用照样天天da", "每晚十一点后给你da", "打到你手机mei dian", "一zheng晚打你电话",
]

SHAME_ZH = combos(
    ZH_YOU,
    ["再不还，", "不还钱的话，", "", "今天不处理，"],
    ["我们就", "我们会", "我马上"],
    ["把你的照片发到朋友圈", "把你欠钱的事发到你们小区业主群", "给你做一张老赖海报贴在你家楼下", "在你公司门口贴你的照片",
     "把你的身份证照片发到网上", "把你的照片P成通缉令发给你所有联系人", "在抖音上曝光你", "在你老家村口拉横幅",
     "把你的欠款信息发到你们家族群", "在微博上公开你的欠债信息", "把你的名字贴在单位公告栏", "在你孩子学校门口贴你的大字报",
     "把你拉进催收群公开处刑", "把你的欠款截图发到你同学群", "把你的照片挂到网上让大家认识你"],
    ["", "，让大家看看你是什么人", "，让你身败名裂"],
)
SHAME_EN = combos(
    EN_YOU,
    ["If you don't pay, ", "Pay today or ", "", "Unless you settle, "],
    ["we'll post your photo on Facebook with the word DEADBEAT", "we'll put up posters with your face around your neighborhood",
     "we'll share your debt in your family group chat", "we'll publish your name on a public list of deadbeats",
     "we'll post your ID card online", "we'll expose you on social media", "we'll put a sign on your front door saying you don't pay",
     "we'll send your photo to everyone at your church", "we'll make a video about you and post it on TikTok",
     "we'll put your picture up at your kid's school", "we'll post your debt in the neighborhood WhatsApp group"],
    ["", " so everyone knows", ", and everyone will know who you are"],
)
SHAME_MIX = [
    "把你的 photo 发到朋友圈", "post 你的欠款到业主群", "我们会 expose 你 on 抖音", "你的 ID card 照片会发到 internet",
    "poster 贴满你家楼下", "在 Facebook 上曝光你是老赖", "把你的名字发到 family group chat", "TikTok 上给你做个视频曝光",
    "把你P成 wanted poster 发给你联系人", "朋友圈 post 你的照片让大家认识你",
]
SHAME_PY = [
    "把你照片发peng you quan", "把你挂到ye zhu qun", "给你做lao lai海报", "在抖yin上曝光你", "把你身份证发wang上",
    "在你村口la横幅", "把你拉进催收qun公开处刑", "朋友quan曝光你", "把你的大字bao贴到学校门口", "发到你同学qun让大家看看",
]

INDUCE_ZH = combos(
    ["", "实在没钱的话，", "我教你，", "听我的，", "你就"],
    ["去网贷平台借一笔先把我们这还了", "用信用卡套现来还款", "找高利贷借点钱先还上", "去借个网贷，很快就能下款",
     "去卖个肾凑钱", "把别的信用卡刷出来还我们", "找我们推荐的贷款中介先借来还", "去借呗、微粒贷里借出来还",
     "去撸几个口子", "用花呗套现还给我们", "去申请几张新卡以卡养卡", "卖血也得把钱还上", "去借校园贷",
     "找民间借贷先周转一下还我们", "把你的银行卡租出去换点钱", "借新还旧，去其他平台借", "去借砍头息的贷款也行"],
    ["", "，今天之内把钱还上", "，别跟我说没钱"],
)
INDUCE_EN = combos(
    ["", "If you're short, ", "Here's what you do: ", "Honestly, ", "Just "],
    ["take out a payday loan to pay us", "borrow from a loan shark", "use a cash advance on another credit card",
     "sell a kidney if you have to", "open a new credit card and pay us with it", "get a title loan on your car and send it to us",
     "borrow from an online lending app today", "sell your blood plasma to raise the money", "max out your other cards",
     "call a guy I know who lends cash fast, no questions asked", "rent out your bank account for some quick cash"],
    ["", " and pay us today", ", I don't care how"],
)
INDUCE_MIX = [
    "去借个 payday loan 还我们", "找 loan shark 借点先还上", "用 credit card 套现来还", "sell 个肾也要还",
    "去 online lending app 上借，很快下款", "open 几张新卡以卡养卡", "用花呗 cash out 还款", "找我们推荐的 loan agent 借",
    "借新还旧 from other platforms", "max out 你的别的信用卡还我们",
]
INDUCE_PY = [
    "去借个wang dai先还", "用信用卡tao xian还款", "找gao li dai借点", "去mai个肾", "去撸几个kou zi", "花呗tao现还给我们",
    "借xin还jiu", "去借xiao yuan贷", "找民间jie dai周转", "以卡yang卡",
]

PRIVACY_ZH = combos(
    ZH_YOU,
    ["我们知道你孩子在哪个学校上学", "你女儿每天几点放学我们都清楚", "你老婆在哪上班我们一清二楚", "我们知道你家住几栋几单元",
     "你每天几点出门我们都盯着", "你爸妈住在哪我们都查到了", "你的定位我们随时都能看到", "你手机里的照片我们都有",
     "你老家的地址我们已经拿到了", "你儿子上的那个幼儿园，我们去过了", "你的通话记录我们都看过", "你在哪个小区租房我们知道",
     "你的车牌号我们记下了", "你的车停在哪我们都知道", "你每天坐几路公交我们都知道"],
    ["", "，你自己掂量掂量", "，别逼我们", "，想想后果", "，还钱吧"],
)
PRIVACY_EN = combos(
    EN_YOU,
    ["we know where your kids go to school", "we know what time your daughter gets out of class", "we know where your wife works",
     "we know which apartment you live in", "we've been watching you leave the house every morning", "we have your GPS location",
     "we've seen the photos on your phone", "we know where your parents live", "we know the license plate of your car",
     "we know which daycare your son attends", "we know which bus you take every day"],
    ["", ", think about that", ", so pay up", ", don't make us use it"],
)
PRIVACY_MIX = [
    "我们知道你 kids 在哪个 school", "你 daughter 几点放学我们都知道", "we know 你老婆在哪上班", "你的 GPS 定位我们都有",
    "你家 address 我们查到了", "你 parents 住哪我们清楚", "your car 停在哪我们知道", "你儿子的 daycare 我们去过了",
    "你手机里的 photos 我们都有", "we've been watching 你每天出门",
]
PRIVACY_PY = [
    "我们知道你孩子在哪个xue xiao", "你女儿几点fang xue我们都知道", "你老婆在哪shang ban我们清楚", "你家住几dong几单元我们知道",
    "你的ding wei我们随时能看", "你爸妈住哪我们都cha到了", "你儿子的you er yuan我们去过", "你的che pai hao记下了",
    "你每天几点chu men我们都盯着", "你手机里的zhao pian我们都有",
]

BLOCKED = {
    "violence": (VIOLENCE_ZH, VIOLENCE_EN, VIOLENCE_MIX, VIOLENCE_PY),
    "third_party_disclosure": (THIRD_ZH, THIRD_EN, THIRD_MIX, THIRD_PY),
    "impersonation": (IMPERS_ZH, IMPERS_EN, IMPERS_MIX, IMPERS_PY),
    "false_legal_consequences": (FALSE_ZH, FALSE_EN, FALSE_MIX, FALSE_PY),
    "insult": (INSULT_ZH, INSULT_EN, INSULT_MIX, INSULT_PY),
    "harassment": (HARASS_ZH, HARASS_EN, HARASS_MIX, HARASS_PY),
    "public_shaming": (SHAME_ZH, SHAME_EN, SHAME_MIX, SHAME_PY),
    "inducing_borrowing": (INDUCE_ZH, INDUCE_EN, INDUCE_MIX, INDUCE_PY),
    "privacy_intimidation": (PRIVACY_ZH, PRIVACY_EN, PRIVACY_MIX, PRIVACY_PY),
}

# ------------------------------------------------------------------------------------------
# ok: normal collection lines and HARD lawful cases
# ------------------------------------------------------------------------------------------

AMOUNTS = ["500", "1,280", "3,600.50", "2000", "860", "15,000", "4,299", "730.20"]
DATES = ["3月15日", "本月25号", "下周一", "明天", "10月8日", "周五", "月底"]
EN_AMOUNTS = ["$50", "$120", "$1,280", "$345.60", "$2,000", "$75"]
EN_DATES = ["March 15", "Friday", "the 25th", "next Monday", "the end of the month", "October 8"]


def fill(templates: list[str], rng: random.Random, per: int, amounts: list[str], dates: list[str]) -> list[str]:
    out = []
    for t in templates:
        for _ in range(per):
            out.append(t.format(amt=rng.choice(amounts), date=rng.choice(dates), n=rng.choice([3, 6, 12, 24]),
                                d=rng.choice([7, 15, 30]), pct=rng.choice(["20%", "30%", "一半", "50%"]), name="{name}"))
    return out


OK_ZH = {
    "collection": combos(ZH_NAMES, [
        "您本期应还金额为{amt}元，到期日是{date}。", "请问您今天方便处理这笔款项吗？", "您承诺{date}前还款{amt}元，我这边已经记录。",
        "我们会在{date}再给您回电确认。", "您可以通过APP的还款页面操作。", "请问现在方便通话吗？",
        "为了核实身份，请提供您身份证号的后四位。", "我是消费金融公司的智能助手，本次通话会被录音。", "您的账户目前已逾期{n}天。",
        "如需人工服务，请回复“转人工”。", "感谢您的配合，祝您生活愉快。", "您最近一次还款是{date}，金额{amt}元。",
        "还款后一般两小时内入账。", "请问您预计什么时候可以还款？", "我们已收到您的还款{amt}元，谢谢。",
        "请确认一下您的还款账户尾号。", "您可以选择全额还款，也可以先还最低还款额。", "我们会在工作时间内联系您。",
        "好的，那我们{date}下午再给您打电话。", "您的剩余应还本金是{amt}元。", "请问您是本人吗？",
        "跟您确认一下，您会在{date}还款{amt}元，对吗？", "还款成功后会有短信通知。"]),
}
OK_ZH_HARD = {
    "lawful_fact": combos(["", "需要提醒您，", "温馨提示：", "按照规定，我需要告知您：", "{date}之前请留意："], [
        "根据合同约定，逾期会产生违约金。", "逾期记录会按规定报送中国人民银行征信中心。", "如协商不成，我们可能依法提起诉讼。",
        "如果进入诉讼程序，法院判决生效后可依法申请强制执行。", "逾期信息可能影响您的个人征信记录。", "合同约定的罚息按日万分之五计算。",
        "根据《民法典》，借款人应当按照约定的期限返还借款。", "如果长期逾期，我们有权依法通过司法途径主张权利。",
        "法院判决生效后仍拒不履行的，可能被法院依法纳入失信被执行人名单。", "欠款属于民事纠纷，我们会通过合法途径处理。",
        "您有权对账单提出异议，我们会在15个工作日内答复。", "本次通话全程录音，录音至少保存两年。", "逾期期间您的账户将暂停借款功能。",
        "按时还款可以避免产生额外的罚息。", "您可以向当地金融监管部门投诉。", "我们可能委托有资质的第三方机构依法催收，届时会提前告知您。",
        "逾期金额为{amt}元，其中包含合同约定的滞纳金。", "是否起诉需要经过内部审核，目前还没有这个安排。"]),
    "offer": combos(["", "您看这样可以吗：", "好消息是，", "考虑到您的情况，"], [
        "我们可以为您申请分{n}期还款。", "如果您{date}前还清本金，可以为您申请减免部分罚息。", "可以先还最低还款额{amt}元。",
        "我们可以帮您申请延期{d}天还款。", "可以为您调整为每月{amt}元的还款计划。", "符合条件的话可以申请停息挂账。",
        "一次性结清可以减免{pct}的利息。", "您看每月还多少比较合适，我们一起商量。", "可以为您申请免除本月的逾期费用。",
        "如果您先还{amt}元，剩余部分可以分期。"]),
    "empathy": combos(["", "{name}", "嗯，"], [
        "理解您最近的困难，我们一起想办法。", "听到您家里的情况我很难过，您先照顾好自己。", "没关系，您慢慢说。",
        "如果您现在不方便，我们可以换个时间再联系。", "我理解失业带来的压力，我们可以根据您的情况调整方案。",
        "您的健康最重要，我这就为您转接人工客服。", "我们不想给您增加额外的压力。", "感谢您如实告诉我这些。",
        "您别着急，我们一起看看有什么办法。", "生病住院确实很难，我们先暂停催收，由人工同事跟进。"]),
    "anti_fraud": combos(["", "温馨提示：", "提醒您注意：", "{name}"], [
        "近期有人冒充公安、法院工作人员进行催收诈骗，如遇此类情况请报警。", "我们不会要求您向个人账户转账。",
        "请只通过官方APP或对公账户还款。", "如有自称律师或警察的人要求您转账，请立即拨打110。", "请勿向任何人透露验证码。",
        "任何声称可以“征信修复”的都是骗局。", "我们不会以法院名义给您发短信。",
        "有人冒充我司员工让您借网贷还款，这是诈骗，请不要理会。", "如果有人威胁要爆您通讯录，请保留证据并向监管部门投诉。",
        "如有人自称检察院要求您配合调查并转账，请挂断并报警。", "不要相信“内部渠道消除逾期记录”的说法。"]),
    "negated_threat": combos(["", "请放心，", "{name}", "我向您保证，"], [
        "我们不会联系您的家人或同事。", "我们绝不会上门骚扰您。", "我们不会把您的信息透露给任何第三方。",
        "欠款不会让您坐牢，这属于民事纠纷。", "我们不会在晚上十点以后给您打电话。", "您的子女上学不会受到任何影响。",
        "我们不会在朋友圈或任何群里公开您的信息。", "我们不会冻结您家人的账户，这没有法律依据。", "我们不会建议您借新贷还旧债。",
        "我们不是公安机关，也不是法院。", "我们不会使用任何威胁或辱骂的语言。", "我们不会反复拨打您的电话。",
        "我们不会联系您通讯录里的任何人。", "我们不会去您单位找您。", "您不会因为这笔欠款被拘留。",
        "我们不会把您的照片发到任何地方。"]),
    "echo": combos(["", "{name}"], [
        "您刚才说之前有人威胁要爆您通讯录，我已记录并转交投诉部门。", "您反映有催收员辱骂您，非常抱歉，我们会严肃核查。",
        "您说有人自称法院工作人员联系您，我们公司从不这样做，建议您报警。", "您提到有人半夜给您打电话，这不符合我们的规定，我们会调查。",
        "您说有人让您去借网贷还款，请不要相信。", "您是担心我们会联系您的家人吗？我们不会的。",
        "您刚才提到有人把您的照片发到群里，我们会立即处理并向您道歉。", "您说有人说您会坐牢，这是错误的说法，欠款是民事纠纷。",
        "您问会不会影响孩子上学，不会的。", "您说有人威胁上门打人，请立即报警，我们会配合调查。"]),
}

OK_EN = {
    "collection": combos(EN_NAMES, [
        "your current balance is {amt}, due on {date}.", "are you able to make a payment today?",
        "I've noted your promise to pay {amt} by {date}.", "we'll call you back on {date} to confirm.",
        "you can pay through the app or our website.", "is now a good time to talk?",
        "to verify your identity, please confirm the last four digits of your ID.",
        "I'm an automated assistant and this call is recorded.", "your account is {n} days past due.",
        "say 'agent' at any time to speak with a person.", "thank you for your time, have a good day.",
        "we received your payment of {amt}, thank you.", "when do you expect to be able to pay?",
        "just to confirm, you'll pay {amt} on {date}, correct?"]),
}
OK_EN_HARD = {
    "lawful_fact": combos(["", "Please note: ", "For your information, ", "I'm required to tell you that "], [
        "late payments may be reported to the credit bureaus.", "if we can't reach an agreement, we may consider filing a lawsuit as permitted by law.",
        "under your agreement, a late fee of {amt} applies.",
        "this is a communication from a debt collector; any information obtained will be used for that purpose.",
        "you have the right to dispute this debt within 30 days.", "interest continues to accrue according to your contract.",
        "this call may be recorded for quality and compliance purposes.",
        "because this debt is past the statute of limitations, we will not sue you for it.",
        "any wage garnishment could only happen after a court judgment.", "you may file a complaint with the CFPB."]),
    "offer": combos(["", "Good news: ", "If it helps, "], [
        "we can set up a payment plan of {amt} a month.", "we can waive the late fee if you pay by {date}.",
        "would an installment plan over {n} months work for you?", "we can offer a settlement for part of the balance.",
        "we can pause interest for 60 days while you get back on your feet.", "we could lower your monthly payment to {amt}."]),
    "empathy": combos(["", "{name}"], [
        "I'm sorry to hear that; let's find something that works for you.", "I understand this is a stressful time.",
        "take your time, there's no rush.", "your wellbeing comes first; I'll connect you with a person now.",
        "thank you for telling me, we can pause collection while you recover.", "I hear you, losing a job is hard."]),
    "anti_fraud": combos(["", "Please be aware: ", "{name}"], [
        "scammers sometimes pretend to be police officers or court officials; we will never ask you to pay into a personal account.",
        "if someone threatens you with arrest over this debt, it is a scam, please report it to the police.",
        "we will never ask for your password or one-time code.", "only pay through our official app or website.",
        "if anyone tells you to take out a payday loan to pay us, that is not us; please report it."]),
    "negated_threat": combos(["", "Rest assured, ", "{name}"], [
        "we will never contact your employer.", "we won't call your family or friends about this.", "you will not go to jail for this debt.",
        "we will not call you before 8 a.m. or after 9 p.m.", "we will never post anything about you online.",
        "we won't tell anyone else about your account.", "we are not the police and we are not a law firm.",
        "we'd never suggest taking out another loan to pay this one.", "nobody will come to your home.",
        "your children's schooling is not affected in any way.", "we won't keep calling you over and over."]),
    "echo": combos(["", "{name}"], [
        "you mentioned someone threatened to call your employer; I've logged a complaint.",
        "I'm sorry a previous agent called you names; that's against our policy.",
        "you said someone claiming to be a police officer called you; that wasn't us.",
        "you told me someone suggested you sell a kidney; that is unacceptable and we'll investigate.",
        "you're worried we'll contact your family? We won't."]),
}

ZH_TAIL = ["", "谢谢您的理解。", "有任何疑问可以随时联系我们。", "您还有其他问题吗？"]
EN_TAIL = ["", " Thank you for understanding.", " If you have any questions, just ask.", " Is there anything else?"]

OK_MIX = [
    "您可以在APP里申请 installment 分期", "我们不会 contact 您的 family", "您的 balance 是1,280元", "我们可以 waive 本月的 late fee",
    "请通过 official app 还款", "本次通话会 recorded，请知悉", "我们不会 call 您的 employer", "您 promise 的还款日是周五，对吗",
    "如协商不成 we may 依法起诉", "有人冒充 police 请报警", "您可以申请 payment plan", "我们不会 post 您的任何信息",
]


# ------------------------------------------------------------------------------------------
# Evasion transforms
# ------------------------------------------------------------------------------------------

SEPARATORS = [" ", "*", "-", "·", "_", ".", "/", "|", "~", " "]


def spaced(text: str, rng: random.Random) -> str:
    """Separator between most CJK characters (and between the letters of short English words)."""
    out = []
    for i, ch in enumerate(text):
        out.append(ch)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt and ch.strip() and nxt.strip() and ch.isalnum() and nxt.isalnum() and rng.random() < 0.7:
            out.append(rng.choice(SEPARATORS))
    return "".join(out)


def fullwidth(text: str) -> str:
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def traditional(text: str) -> str:
    return str(_S2T.convert(text))


def fill_names(text: str, rng: random.Random, zh: bool) -> str:
    return text.replace("{name}", rng.choice(ZH_NAMES[1:] if zh else EN_NAMES[1:]))


def build() -> list[tuple[str, str, str, str]]:
    rng = random.Random(SEED)
    rows: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()

    def add(text: str, label: str, lang: str, kind: str) -> None:
        text = " ".join(text.split())
        if text and text[0].islower() and lang == "en":
            text = text[0].upper() + text[1:]
        key = normalise_for_model(text)
        if not key or key in seen:
            return
        seen.add(key)
        rows.append((text, label, lang, kind))

    # Blocked categories: ~125 rows each, ~27 % English.
    for label, (zh, en, mix, py) in BLOCKED.items():
        zh, en = zh[:], en[:]
        rng.shuffle(zh)
        rng.shuffle(en)
        for t in zh[:40]:
            add(t, label, "zh", "plain")
        for t in zh[40:52]:
            add(traditional(t), label, "zh", "evasion_traditional")
        for t in zh[52:64]:
            add(spaced(t, rng), label, "zh", "evasion_spaces")
        for t in zh[64:68]:
            add(spaced(traditional(t), rng), label, "zh", "evasion_spaces")
        for t in en[:20]:
            add(t, label, "en", "plain")
        for t in en[20:24]:
            add(fullwidth(t), label, "en", "evasion_fullwidth")
        for t in en[24:28]:
            add(spaced(t, rng), label, "en", "evasion_spaces")
        for t in mix:
            add(t, label, "zh", "mixed_zh_en")
        for t in py:
            kind = "evasion_pinyin" if any(c.isascii() and c.isalpha() for c in t) else "evasion_homophone"
            add(t, label, "zh", kind)
        for t in zh[68:71]:
            add(fullwidth(t), label, "zh", "evasion_fullwidth")

    # ok: normal collection lines and hard lawful cases.
    def ok_block(groups: dict[str, list[str]], zh: bool, per_kind: int) -> list[tuple[str, str]]:
        made = []
        for kind, templates in groups.items():
            templates = combos(templates, ZH_TAIL if zh else EN_TAIL)
            rng.shuffle(templates)
            amounts, dates = (AMOUNTS, DATES) if zh else (EN_AMOUNTS, EN_DATES)
            texts = fill(templates[:per_kind], rng, 1, amounts, dates)
            made += [(fill_names(t, rng, zh), kind) for t in texts]
        return made

    zh_ok = ok_block(OK_ZH, True, 150) + ok_block(OK_ZH_HARD, True, 80)
    en_ok = ok_block(OK_EN, False, 70) + ok_block(OK_EN_HARD, False, 30)
    rng.shuffle(zh_ok)
    rng.shuffle(en_ok)
    for i, (t, kind) in enumerate(zh_ok):
        if i % 12 == 0:
            add(traditional(t), "ok", "zh", "evasion_traditional")
        elif i % 12 == 1:
            add(spaced(t, rng), "ok", "zh", "evasion_spaces")
        else:
            add(t, "ok", "zh", kind)
    for i, (t, kind) in enumerate(en_ok):
        if i % 15 == 0:
            add(fullwidth(t), "ok", "en", "evasion_fullwidth")
        else:
            add(t, "ok", "en", kind)
    for t in OK_MIX:
        add(t, "ok", "zh", "mixed_zh_en")
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8", newline="\n") as f:
        f.write("text\tlabel\tlang\tkind\n")
        for row in rows:
            assert all("\t" not in c and "\n" not in c for c in row)
            f.write("\t".join(row) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
