"""python -m ledger import-payments: each valid row recorded, every bad row reported with its line number, and
importing the same file again changes nothing (a real SQLite ledger, the real CLI)."""
from __future__ import annotations

from sqlalchemy import func, select

from ledger.__main__ import main
from ledger.campaign_records import CampaignRecords
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import FollowUpEvent, LoanAccount, Payment
from tests.unit.ledger_accounts import add_account

HEADER = "payment_id,account_id,amount,paid_at,currency\n"
GOOD = ("P-1,A1,100.50,2026-11-23T10:00:00+08:00,\n"
        "P-2,A1,20,2026-11-23T02:00:00Z,CNY\n")
BAD = ("P-3,NO-SUCH,1,2026-11-23T10:00:00+08:00,CNY\n"  # line 4: unknown account
       "P-4,A1,-1,2026-11-23,CNY\n"  # line 5: negative, no offset
       "\"1' OR '1'='1\",A1,1.5,2026-11-23T10:00:00+08:00,CNY\n"  # line 6: not a payment id
       "P-5,A1,12.345,2026-11-23T10:00:00+08:00,CNY\n"  # line 7: fractions of a cent
       "P-6,A1,0,2026-11-23T10:00:00+08:00,CNY\n"  # line 8: zero
       "P-7,A1,1,2026-11-23T10:00:00+08:00,USD\n"  # line 9: not the account's currency
       "P-8,A1,1,2999-01-01T00:00:00+08:00,CNY\n")  # line 10: in the future


def ledger_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    add_account(make_session_factory(engine), "A1", fees=1_000, interest=2_000, principal=100_000)
    engine.dispose()
    return url


def state(url):
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        account = session.get(LoanAccount, "A1")
        found = (account.fees_cents, account.interest_cents, account.principal_cents,
                 session.scalar(select(func.count()).select_from(Payment)),
                 session.scalar(select(func.count()).select_from(FollowUpEvent)))
    engine.dispose()
    return found


def test_valid_rows_are_kept_bad_rows_reported_and_a_reimport_changes_nothing(tmp_path, capsys):
    url = ledger_url(tmp_path)
    path = tmp_path / "payments.csv"
    path.write_text(HEADER + GOOD + BAD, encoding="utf-8")

    assert main(["--url", url, "import-payments", str(path)]) == 1
    report = capsys.readouterr().err
    assert "9 rows: 2 payments recorded, 0 already recorded" in report
    for line, column in ((4, "account_id"), (5, "amount"), (5, "paid_at"), (6, "payment_id"), (7, "amount"),
                         (8, "amount"), (9, "currency"), (10, "paid_at")):
        assert f"line {line}, column {column}:" in report
    after_first = state(url)
    assert after_first == (0, 0, 100_000 - (10_050 + 2_000 - 3_000), 2, 2)

    assert main(["--url", url, "import-payments", str(path)]) == 1
    assert "9 rows: 0 payments recorded, 2 already recorded" in capsys.readouterr().err
    assert state(url) == after_first


def segment_history(url, borrower_id):
    engine = make_engine(url)
    found = CampaignRecords(make_session_factory(engine)).segment_history(borrower_id)
    engine.dispose()
    return [(change.segment, change.reason) for change in found]


def test_imported_payments_place_their_borrowers_again_at_once_with_the_reason(tmp_path, capsys):
    """As a payment reported to the API does: not at the campaign worker's next tick."""
    url = ledger_url(tmp_path)
    settling = tmp_path / "settle.csv"
    path = tmp_path / "payments.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    assert main(["--url", url, "import-payments", str(path)]) == 0
    [(segment, reason)] = segment_history(url, "B-A1")
    assert segment != "closed"
    assert reason.startswith("payment P-1 received; payment P-2 received; days past due ")
    assert main(["--url", url, "import-payments", str(path)]) == 0  # nothing new: nothing moves
    assert len(segment_history(url, "B-A1")) == 1
    settling.write_text(HEADER + "P-9,A1,1000,2026-11-23T11:00:00+08:00,CNY\n", encoding="utf-8")
    assert main(["--url", url, "import-payments", str(settling)]) == 0
    assert segment_history(url, "B-A1")[-1] == ("closed", "payment P-9 received; nothing left to collect")
    assert "placing" not in capsys.readouterr().err


def test_a_row_that_contradicts_a_recorded_payment_is_reported_and_changes_nothing(tmp_path, capsys):
    url = ledger_url(tmp_path)
    first, changed = tmp_path / "first.csv", tmp_path / "changed.csv"
    first.write_text(HEADER + GOOD, encoding="utf-8")
    changed.write_text(HEADER + GOOD.replace("100.50", "100.51"), encoding="utf-8")
    assert main(["--url", url, "import-payments", str(first)]) == 0
    assert "2 rows: 2 payments recorded" in capsys.readouterr().out
    before = state(url)
    assert main(["--url", url, "import-payments", str(changed)]) == 1
    assert "line 2, column payment_id: already recorded with a different" in capsys.readouterr().err
    assert state(url) == before


def test_a_file_excel_saved_with_a_bom_imports(tmp_path, capsys):
    url = ledger_url(tmp_path)
    path = tmp_path / "payments.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD).encode("utf-8"))
    assert main(["--url", url, "import-payments", str(path)]) == 0
    assert state(url)[3] == 2


def test_unusable_files_are_reported(tmp_path, capsys):
    url = ledger_url(tmp_path)
    missing_column = tmp_path / "missing.csv"
    missing_column.write_text("payment_id,account_id,amount\nP-1,A1,1\n", encoding="utf-8")
    assert main(["--url", url, "import-payments", str(missing_column)]) == 1
    assert "line 1: missing column(s): paid_at" in capsys.readouterr().err
    not_utf8 = tmp_path / "gbk.csv"
    not_utf8.write_bytes((HEADER + "P-1,A1,1,2026-11-23T10:00:00+08:00,人民币\n").encode("gbk"))
    assert main(["--url", url, "import-payments", str(not_utf8)]) == 1
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["--url", url, "import-payments", str(tmp_path / "absent.csv")]) == 1
    assert "cannot read file" in capsys.readouterr().err
    assert state(url)[3] == 0
