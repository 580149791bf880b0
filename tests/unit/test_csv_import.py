"""Portfolio CSV import: all rows or none, every error with its line number."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger.csv_import import import_portfolio_csv
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import Borrower, LoanAccount
from ledger.repository import Ledger

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def session_factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _counts(session_factory):
    with session_factory() as session:
        return (session.scalar(select(func.count()).select_from(Borrower)),
                session.scalar(select(func.count()).select_from(LoanAccount)))


def test_good_file_imports_every_row(session_factory):
    report = import_portfolio_csv(session_factory, FIXTURES / "portfolio_good.csv")
    assert report.ok, report.summary()
    assert (report.rows_read, report.borrowers_created, report.accounts_created) == (4, 3, 4)
    assert _counts(session_factory) == (3, 4)

    ledger = Ledger(session_factory)
    account = ledger.get_account("CA100002-1")
    assert (account.principal_cents, account.interest_cents, account.fees_cents) == (2_500_099, 120_001, 88_010)
    assert ledger.get_borrower("C100002").timezone == "Asia/Shanghai"  # blank -> default
    assert ledger.get_borrower("C100002").id_last4 == "567X"
    assert ledger.get_borrower("C100003").language == "en"


def test_three_bad_rows_are_all_reported_and_nothing_is_imported(session_factory):
    report = import_portfolio_csv(session_factory, FIXTURES / "portfolio_three_bad_rows.csv")
    assert not report.ok
    assert sorted({error.line for error in report.errors}) == [3, 4, 5]
    columns = {(error.line, error.column) for error in report.errors}
    assert {(3, "date_of_birth"), (4, "principal"), (5, "timezone"), (5, "risk_tier")} <= columns
    assert _counts(session_factory) == (0, 0)
    assert "line 3" in report.summary() and "1986" not in report.summary()  # no birth date echoed


def test_file_with_bom_imports(session_factory):
    report = import_portfolio_csv(session_factory, FIXTURES / "portfolio_bom.csv")
    assert report.ok, report.summary()
    assert Ledger(session_factory).get_account("CA300001-1").principal_cents == 1_200_000


def test_missing_column_is_named(session_factory):
    report = import_portfolio_csv(session_factory, FIXTURES / "portfolio_missing_column.csv")
    assert not report.ok
    [error] = report.errors
    assert error.line == 1 and "risk_tier" in error.message
    assert _counts(session_factory) == (0, 0)


def test_non_utf8_file_is_refused(session_factory, tmp_path):
    gbk = tmp_path / "portfolio_gbk.csv"
    gbk.write_bytes((FIXTURES / "portfolio_good.csv").read_text(encoding="utf-8").encode("gbk"))
    report = import_portfolio_csv(session_factory, gbk)
    assert not report.ok and "UTF-8" in report.errors[0].message
    assert _counts(session_factory) == (0, 0)


def test_duplicate_account_and_already_imported_account_are_errors(session_factory, tmp_path):
    lines = (FIXTURES / "portfolio_good.csv").read_text(encoding="utf-8").splitlines()
    duplicated = tmp_path / "portfolio_dup.csv"
    duplicated.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    report = import_portfolio_csv(session_factory, duplicated)
    assert [(e.line, e.column) for e in report.errors] == [(6, "account_id")]

    assert import_portfolio_csv(session_factory, FIXTURES / "portfolio_good.csv").ok
    again = import_portfolio_csv(session_factory, FIXTURES / "portfolio_good.csv")
    assert not again.ok and {e.line for e in again.errors} == {2, 3, 4, 5}
    assert _counts(session_factory) == (3, 4)


def test_unmasked_id_number_is_refused_without_echoing_it(session_factory, tmp_path):
    text = (FIXTURES / "portfolio_good.csv").read_text(encoding="utf-8")
    leaky = tmp_path / "portfolio_leaky.csv"
    leaky.write_text(text.replace("110101********1234", "110101199005171234"), encoding="utf-8")
    report = import_portfolio_csv(session_factory, leaky)
    assert not report.ok and {e.column for e in report.errors} == {"id_number_masked"}
    assert "19900517" not in report.summary()


def test_cli_import_exits_1_with_line_numbers(tmp_path, capsys, monkeypatch):
    from ledger.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert main(["--url", url, "import", str(FIXTURES / "portfolio_three_bad_rows.csv")]) == 1
    assert "line 3" in capsys.readouterr().err
    assert main(["--url", url, "import", str(FIXTURES / "portfolio_good.csv")]) == 0
    assert main(["--url", url, "show", "C100001"]) == 0
    assert "CA100001-2" in capsys.readouterr().out
