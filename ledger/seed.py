"""A realistic, deterministic demo portfolio: fixed demo borrowers plus generated ones, Chinese (CNY) and a few
US borrowers (English, USD, US time zones; ids from B900001).

Every borrower is marked `source='demo'`: the campaign worker never contacts one through a real provider
(campaigns.contact), and `python -m ledger seed` refuses to run while one is configured. All data is invented: phone numbers are made up (the middle four digits are the borrower's number, so
each is unique; US numbers are in the fictional 555-01xx range) and id numbers keep only a region prefix and a
generated last four, so the demo database holds nobody's real identity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chinese_text.dates import DEFAULT_TIMEZONE
from ledger.models import Borrower, LoanAccount

LENDERS = (
    ("安信消费金融", "信用消费贷"),
    ("华诚小额贷款", "小额现金贷"),
    ("长兴银行信用卡中心", "信用卡分期"),
    ("鼎盛消费金融", "装修分期"),
    ("联合普惠金融", "网购分期"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN_MALE = ("伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "建华", "志强", "海波",
              "俊杰", "浩然", "子豪", "宇航", "国强", "文博", "鹏飞")
GIVEN_FEMALE = ("芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪", "秀英", "桂兰", "欣怡",
                "雨涵", "梓萱", "佳琪", "思雨", "晓燕", "美玲", "丹丹")
REGION_PREFIXES = ("110101", "310101", "440103", "510104", "330102", "420102", "320102", "610103")
PHONE_PREFIXES = ("130", "135", "138", "139", "150", "158", "186", "188", "199")
US_LENDERS = (("Harbor Lending", "personal loan"), ("Summit Consumer Finance", "installment loan"),
              ("Lakeside Credit", "credit card"))
US_FIRST_NAMES = ("James", "Maria", "Robert", "Linda", "Michael", "Jennifer", "David", "Patricia", "Carlos", "Aisha",
                  "Kevin", "Mei", "Brian", "Destiny", "Jose", "Ashley", "Tyrone", "Emily", "Luis", "Sarah")
US_SURNAMES = ("Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson",
               "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Lee", "Harris", "Clark", "Lewis", "Nguyen", "Chen")
US_ZONES = (("212", "America/New_York"), ("312", "America/Chicago"), ("303", "America/Denver"),
            ("213", "America/Los_Angeles"), ("404", "America/New_York"), ("713", "America/Chicago"))
FIRST_US_NUMBER = 900_001
# Days past due ranges per tier: the tier follows delinquency in this demo portfolio.
TIER_DPD = (("A", 1, 30), ("B", 31, 90), ("C", 91, 180), ("D", 181, 360))


@dataclass(frozen=True)
class DemoAccount:
    account_id: str
    lender: tuple[str, str]
    principal_cents: int
    interest_cents: int
    fees_cents: int
    days_past_due: int
    risk_tier: str
    currency: str = "CNY"


@dataclass(frozen=True)
class DemoBorrower:
    borrower_id: str
    full_name: str
    honorific: str
    id_number_masked: str
    date_of_birth: date
    phone: str
    timezone: str
    language: str
    accounts: tuple[DemoAccount, ...]


@dataclass(frozen=True)
class SeedReport:
    borrowers_created: int
    accounts_created: int


# Referenced by tests and the README: keep these values stable.
FIXED_BORROWERS = (
    DemoBorrower("B000001", "张伟", "先生", "110101********3821", date(1988, 4, 12), "13800015210",
                 DEFAULT_TIMEZONE, "zh",
                 (DemoAccount("A000001-1", LENDERS[0], 1_100_000, 89_067, 45_500, 15, "A"),)),
    DemoBorrower("B000002", "李娜", "女士", "310101********5017", date(1992, 9, 3), "13900027781",
                 DEFAULT_TIMEZONE, "zh",
                 (DemoAccount("A000002-1", LENDERS[1], 650_000, 48_000, 32_000, 45, "B"),)),
    DemoBorrower("B000003", "王强", "先生", "440103********662X", date(1979, 1, 27), "18600030932",
                 DEFAULT_TIMEZONE, "zh",
                 (DemoAccount("A000003-1", LENDERS[2], 2_800_000, 310_000, 168_000, 120, "C"),)),
    DemoBorrower("B000004", "John Smith", "", "**************4417", date(1985, 6, 30), "+1-202-555-0143",
                 "America/New_York", "en",
                 (DemoAccount("A000004-1", US_LENDERS[0], 420_000, 26_500, 15_000, 60, "B", "USD"),)),
)


def _generated_borrower(number: int, rng: random.Random) -> DemoBorrower:
    borrower_id = f"B{number:06d}"
    male = rng.random() < 0.55
    name = rng.choice(SURNAMES) + rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    last4 = f"{rng.randrange(1000):03d}" + rng.choice("0123456789X")
    born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 42))
    phone = f"{rng.choice(PHONE_PREFIXES)}{number % 10_000:04d}{rng.randrange(10_000):04d}"
    accounts = []
    for index in range(1, (2 if rng.random() < 0.15 else 1) + 1):
        tier, low, high = rng.choice(TIER_DPD)
        principal = rng.randrange(50_000, 18_000_000)  # 500 元 .. 180,000 元
        interest = principal * rng.randrange(2, 8) // 100
        fees = principal * rng.randrange(0, 4) // 100 if tier != "A" or rng.random() < 0.5 else 0
        # Keep the whole balance inside the 500..200,000 元 demo range.
        total_cap = 20_000_000
        overflow = principal + interest + fees - total_cap
        if overflow > 0:
            principal -= overflow
        accounts.append(DemoAccount(f"A{number:06d}-{index}", rng.choice(LENDERS), principal,
                                    interest, fees, rng.randint(low, high), tier))
    return DemoBorrower(borrower_id, name, "先生" if male else "女士",
                        f"{rng.choice(REGION_PREFIXES)}********{last4}", born, phone,
                        DEFAULT_TIMEZONE, "zh", tuple(accounts))


def _generated_us_borrower(number: int, rng: random.Random) -> DemoBorrower:
    area, zone = rng.choice(US_ZONES)
    tier, low, high = rng.choice(TIER_DPD)
    principal = rng.randrange(50_000, 2_500_000)  # $500 .. $25,000
    interest = principal * rng.randrange(2, 8) // 100
    fees = principal * rng.randrange(0, 4) // 100
    sequence = number - FIRST_US_NUMBER
    account = DemoAccount(f"A{number:06d}-1", rng.choice(US_LENDERS), principal, interest, fees,
                          rng.randint(low, high), tier, "USD")
    return DemoBorrower(f"B{number:06d}", f"{rng.choice(US_FIRST_NAMES)} {rng.choice(US_SURNAMES)}", "",
                        f"**************{rng.randrange(10_000):04d}", date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 42)),
                        f"+1-{area}-555-{100 + sequence:04d}", zone, "en", (account,))


def demo_borrowers(count: int = 1000, rng_seed: int = 7, us_count: int = 80) -> list[DemoBorrower]:
    """The fixed demo borrowers, then generated Chinese ones up to `count` in total, then `us_count` US ones
    (their own random stream, so the Chinese portfolio is the same whatever `us_count` is)."""
    rng = random.Random(rng_seed)
    borrowers = list(FIXED_BORROWERS)
    for number in range(len(FIXED_BORROWERS) + 1, count + 1):
        borrowers.append(_generated_borrower(number, rng))
    us_rng = random.Random(rng_seed + 1)
    borrowers += [_generated_us_borrower(number, us_rng) for number in range(FIRST_US_NUMBER, FIRST_US_NUMBER + us_count)]
    return borrowers


def seed_demo_portfolio(
    session_factory: sessionmaker[Session],
    count: int = 1000,
    rng_seed: int = 7,
    as_of: date | None = None,
    us_count: int = 80,
) -> SeedReport:
    """Insert the demo portfolio; borrowers and accounts already present are left alone.

    Due dates are `as_of - days_past_due` so the demo stays overdue by the same amounts
    whenever it is seeded.
    """
    as_of = as_of or date.today()
    wanted = demo_borrowers(count, rng_seed, us_count)
    borrowers_created = accounts_created = 0
    with session_factory.begin() as session:
        known_borrowers = set(session.scalars(select(Borrower.borrower_id)))
        known_accounts = set(session.scalars(select(LoanAccount.account_id)))
        for demo in wanted:
            if demo.borrower_id not in known_borrowers:
                session.add(Borrower(
                    borrower_id=demo.borrower_id, full_name=demo.full_name, honorific=demo.honorific,
                    id_number_masked=demo.id_number_masked, date_of_birth=demo.date_of_birth,
                    phone=demo.phone, timezone=demo.timezone, language=demo.language, source="demo",
                ))
                borrowers_created += 1
            for account in demo.accounts:
                if account.account_id in known_accounts:
                    continue
                session.add(LoanAccount(
                    account_id=account.account_id, borrower_id=demo.borrower_id,
                    lender_name=account.lender[0], product=account.lender[1],
                    principal_cents=account.principal_cents, interest_cents=account.interest_cents,
                    fees_cents=account.fees_cents, currency=account.currency,
                    due_date=as_of - timedelta(days=account.days_past_due),
                    days_past_due=account.days_past_due, risk_tier=account.risk_tier,
                ))
                accounts_created += 1
    return SeedReport(borrowers_created, accounts_created)
