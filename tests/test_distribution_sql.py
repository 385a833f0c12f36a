"""The hand-over record on a real database (migration 0011, the SQL repository, audit verify on a
row altered through SQL) and the CLI commands `egide quote ipid|advice|handover|handover-status`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from egide.cli.main import app
from egide.domain.handover import ADVICE, IPID
from egide.domain.product import Product
from egide.services import distribution, quotes
from egide.services.audit import verify_chain
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR
from tests.test_distribution import example

runner = CliRunner()


def test_a_hand_over_is_stored_read_back_and_a_row_changed_through_sql_is_caught(
    any_url: str, product: Product
) -> None:
    uow = make_uow(any_url)
    number = quotes.save_quote(uow, OPERATOR, example("pharmacie"), product, "c").quote_number
    with uow:
        distribution.ensure_handover_for_bind(uow, OPERATOR, number, "api")
        uow.commit()
    status = distribution.handover_status(make_uow(any_url), OPERATOR, number)
    assert status.complete
    assert {d.channel for d in status.documents} == {"api"}
    assert all(d.handed_over_at is not None and d.handed_over_at.tzinfo for d in status.documents)
    ipid = distribution.ipid_pdf(make_uow(any_url), OPERATOR, number)
    assert status.documents[0].sha256 == hashlib.sha256(ipid.pdf).hexdigest()
    assert verify_chain(make_uow(any_url)).clean
    engine = sa.create_engine(any_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE document_handovers SET channel = 'web' WHERE document = :d"),
            {"d": ADVICE},
        )
    engine.dispose()
    (problem,) = verify_chain(make_uow(any_url)).problems
    assert (problem.table, problem.number) == ("document_handovers", number)
    assert "differs from what its last audit entry recorded (handed over" in problem.problem


@pytest.mark.postgres
def test_the_hand_over_table_exists_on_postgresql_after_the_migrations(pg_url: str) -> None:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    columns = {c["name"] for c in sa.inspect(engine).get_columns("document_handovers")}
    engine.dispose()
    assert {"quote_number", "document", "sha256", "channel", "handed_over_at", "actor"} <= columns


def test_the_cli_writes_both_documents_and_records_their_hand_over(
    cli_env: str, tmp_path: Path
) -> None:
    saved = runner.invoke(
        app, ["quote", "price", str(EXAMPLES / "cabinet-medical.yaml"), "--save", "-q"]
    )
    assert saved.exit_code == 0, saved.output
    number = saved.output.strip()
    ipid, advice = tmp_path / "ipid.pdf", tmp_path / "conseil.pdf"
    wrote = runner.invoke(app, ["quote", "ipid", number, "-o", str(ipid)])
    assert wrote.exit_code == 0, wrote.output
    assert runner.invoke(app, ["quote", "advice", number, "-o", str(advice)]).exit_code == 0
    assert ipid.read_bytes().startswith(b"%PDF-") and advice.read_bytes().startswith(b"%PDF-")
    again = runner.invoke(app, ["quote", "ipid", number, "-o", str(ipid)])
    assert again.exit_code == 3  # an existing file without --force
    before = runner.invoke(app, ["quote", "handover-status", number, "--json"])
    assert json.loads(before.output)["complete"] is False
    stale = runner.invoke(
        app, ["quote", "handover", number, "--ipid", str(advice), "--advice", str(advice)]
    )
    assert stale.exit_code == 2 and "documents.ipid" in stale.output
    done = runner.invoke(
        app,
        ["quote", "handover", number, "--ipid", str(ipid), "--advice", str(advice), "--json"],
    )
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["complete"] is True
    shas = {d["document"]: d["sha256"] for d in out["documents"]}
    assert shas[IPID] == hashlib.sha256(ipid.read_bytes()).hexdigest()
    assert shas[ADVICE] == hashlib.sha256(advice.read_bytes()).hexdigest()
    assert {d["channel"] for d in out["documents"]} == {"cli"}
    missing = runner.invoke(app, ["quote", "advice", "DEV-NOPE", "-o", str(tmp_path / "x.pdf")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_a_downgrade_below_the_hand_overs_is_refused_while_they_hold_audited_records(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    from egide.db.migrate import alembic_config
    from egide.services.audit import verify_chain
    from tests.conftest import make_uow
    from tests.test_policy_audit import book

    book(any_url, product, monkeypatch)  # its bind handed the documents over (CLI channel)
    with pytest.raises(RuntimeError, match="audited hand-over records"):
        command.downgrade(alembic_config(any_url), "0010_webhooks")
    assert verify_chain(make_uow(any_url)).clean
