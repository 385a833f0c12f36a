"""Durability under SIGKILL: writer processes (`tests/crash_writer.py`) bind and change policies
on one SQLite database (WAL, synchronous=FULL) and are killed at random moments, cycle after
cycle. After every cycle:

- every acknowledged transaction is in the database, exactly once, with the acked number;
- nothing is half-written: every policy starts with its issue transaction, its sequence has no
  gap, its version counts its transactions, the term premiums add up, every idempotency key has
  its response and its transaction, a bound quote has its policy;
- ``PRAGMA integrity_check`` says ok and the audit chain verifies.

The same test run against a deliberately broken bind (policy and issue transaction committed in
two transactions, ``EGIDE_TEST_BREAK_ATOMICITY=1``) must fail its checks: the test is able to
see what it is looking for. Figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from egide.db.engine import make_engine
from egide.db.tables_policy import IdempotencyRow
from egide.db.uow import SqlUnitOfWork
from egide.services.audit import verify_chain

WRITER = Path(__file__).resolve().parent / "crash_writer.py"
WRITERS = 4
CYCLES = 8
NOW = "2026-12-01T10:00:00+01:00"


@dataclass
class Figures:
    cycles: int = 0
    kills: int = 0
    acked: int = 0
    intents: int = 0
    transactions: int = 0
    policies: int = 0
    problems: list[str] = field(default_factory=list)


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check(url: str, logs: list[Path]) -> tuple[list[str], int, int, int]:
    """Problems found (empty: all good), acked count, transactions and policies stored."""
    problems: list[str] = []
    engine = make_engine(url)
    with engine.connect() as conn:
        if (
            engine.dialect.name == "sqlite"
            and (ic := conn.exec_driver_sql("PRAGMA integrity_check").scalar()) != "ok"
        ):
            problems.append(f"integrity_check: {ic}")
        txs = conn.execute(
            sa.text(
                "SELECT p.number, p.version, t.seq, t.kind, t.idempotency_key, "
                "t.change_net_cents, t.term_net_cents, t.change_tax_cents, t.term_tax_cents "
                "FROM policies p JOIN policy_transactions t ON t.policy_id = p.id "
                "ORDER BY p.id, t.seq"
            )
        ).all()
        policies = conn.execute(sa.text("SELECT number, version, quote_number FROM policies")).all()
        keys = [  # stored as ORGANISATION_ID:KEY (keys are per organisation)
            (k.partition(":")[2], response is None)
            for k, response in conn.execute(sa.select(IdempotencyRow.key, IdempotencyRow.response))
        ]
        bound_quotes = {
            r[0] for r in conn.execute(sa.text("SELECT number FROM quotes WHERE status = 'bound'"))
        }
    engine.dispose()

    by_key: dict[str, list[tuple[str, int]]] = {}
    by_policy: dict[str, list[Any]] = {}
    for row in txs:
        by_policy.setdefault(row.number, []).append(row)
        if row.idempotency_key:
            by_key.setdefault(row.idempotency_key, []).append((row.number, row.seq))
    for number, version, quote in policies:
        rows = by_policy.get(number, [])
        if not rows or rows[0].kind != "issue":
            problems.append(f"{number}: policy without its issue transaction")
            continue
        if [r.seq for r in rows] != list(range(1, len(rows) + 1)) or version != len(rows):
            problems.append(f"{number}: sequence {[r.seq for r in rows]} / version {version}")
        net = tax = 0
        for r in rows:
            net = r.change_net_cents if r.kind in ("issue", "renew") else net + r.change_net_cents
            tax = r.change_tax_cents if r.kind in ("issue", "renew") else tax + r.change_tax_cents
            if (r.term_net_cents, r.term_tax_cents) != (net, tax):
                problems.append(f"{number} #{r.seq}: term premium does not add up")
        if quote not in bound_quotes:
            problems.append(f"{number}: its quote {quote} is not marked bound")
    if len(bound_quotes) != len(policies):
        problems.append(f"{len(bound_quotes)} bound quotes for {len(policies)} policies")
    for key, missing_response in keys:
        if missing_response:
            problems.append(f"idempotency key {key} stored without its response")
        if key not in by_key:
            problems.append(f"idempotency key {key} stored without its transaction")
    for key, found in by_key.items():
        if len(found) != 1:
            problems.append(f"key {key} recorded {len(found)} times")

    acked = 0
    for path in logs:
        for entry in read_log(path):
            if entry["type"] != "ack":
                continue
            acked += 1
            found = by_key.get(entry["key"], [])
            if found != [(entry["policy"], entry["seq"])]:
                problems.append(
                    f"acked {entry['op']} {entry['key']} is not in the database: {found}"
                )
    report = verify_chain(SqlUnitOfWork.from_url(url))
    if not report.clean:
        problems.append(f"audit chain: {report.broken}")
    return problems, acked, len(txs), len(policies)


def torture(url: str, tmp_path: Path, cycles: int, broken: bool) -> Figures:
    """Run the writers for `cycles` start-and-kill cycles (stopping at the first problem) on a
    migrated database."""
    env = {**os.environ, "EGIDE_NOW": NOW}
    env.pop("EGIDE_TEST_BREAK_ATOMICITY", None)
    if broken:
        env["EGIDE_TEST_BREAK_ATOMICITY"] = "1"
    logs = [tmp_path / f"writer-{i}.log" for i in range(WRITERS)]
    rng = random.Random(20261128)
    figures = Figures()
    for cycle in range(cycles):
        procs = [
            subprocess.Popen(
                # the broken variant splits bind: its writers only bind, to meet the bug often
                [sys.executable, str(WRITER), url, str(logs[i]), str(i)]
                + (["binds-only"] if broken else []),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"writer-{i}.err", "ab"),  # noqa: SIM115
            )
            for i in range(WRITERS)
        ]
        # each writer dies at its own random moment once all have begun working this cycle
        sizes = [p.stat().st_size if p.exists() else 0 for p in logs]
        limit = time.monotonic() + 30
        while time.monotonic() < limit and not all(
            p.exists() and p.stat().st_size > n for p, n in zip(logs, sizes, strict=True)
        ):
            time.sleep(0.01)
        started = time.monotonic()
        deadlines = sorted((rng.uniform(0.05, 1.2), i) for i in range(WRITERS))
        for deadline, i in deadlines:
            time.sleep(max(0.0, deadline - (time.monotonic() - started)))
            alive = procs[i].poll() is None
            procs[i].send_signal(signal.SIGKILL)
            procs[i].wait()
            assert alive, (tmp_path / f"writer-{i}.err").read_text()[-3000:]
            figures.kills += 1
        figures.cycles = cycle + 1
        problems, acked, txs, npol = check(url, logs)
        figures.acked, figures.transactions, figures.policies = acked, txs, npol
        figures.problems = problems
        if problems:
            break
    figures.intents = sum(1 for p in logs for e in read_log(p) if e["type"] == "intent")
    return figures


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_writers_killed_at_random_moments_lose_no_acknowledged_transaction(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # PostgreSQL's durability is the server's: fewer cycles there, the checks are the same
    cycles = CYCLES if backend == "sqlite" else CYCLES // 2
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    figures = torture(url, tmp_path, cycles, broken=False)
    print(f"\ncrash test on {backend}: {figures}")
    assert figures.problems == []
    assert figures.cycles == cycles and figures.kills == cycles * WRITERS
    assert figures.acked >= 25 * cycles, "the writers did too little work to test anything"


def test_the_crash_test_catches_an_operation_split_across_two_transactions(
    sqlite_url: str, tmp_path: Path
) -> None:
    figures = torture(sqlite_url, tmp_path, CYCLES, broken=True)
    print(f"\ncrash test, broken variant: {figures}")
    assert any("without its issue transaction" in p for p in figures.problems), figures
