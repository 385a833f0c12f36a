"""A writer for the crash test: binds and changes policies forever, until it is killed.

    python tests/crash_writer.py DATABASE_URL LOG_FILE WORKER_ID [binds-only]

Each round saves a quote, binds it, endorses it three times, and every other round cancels and
reinstates it; with ``binds-only`` a round only saves a quote and binds it.

Before each operation it appends an ``intent`` line (the idempotency key and the request) to
LOG_FILE, and an ``ack`` line only after the service returned, i.e. after the commit returned.
Lines go through ``os.write`` on an ``O_APPEND`` descriptor: they reach the kernel before the
next operation starts, so a SIGKILL cannot lose an ack that was written (a power cut could, but
that is the database's fsync's business, not this test's).

On start it retries its last intent that has no ack, with the same key and request, as a client
would after a crash: idempotency must answer with the first result, never a second transaction.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from egide.db.uow import SqlUnitOfWork
from egide.domain.access import local_operator
from egide.domain.errors import Conflict
from egide.domain.product import load_product
from egide.services import policies, quotes

OPERATOR = local_operator(1)  # the installation's insurer: the first organisation
BREAK_ATOMICITY_ENV = "EGIDE_TEST_BREAK_ATOMICITY"


def break_atomicity() -> None:
    """The deliberate bug the crash test must catch, injected here rather than switchable in
    the product: bind commits the policy, then appends its issue transaction in a second
    database transaction."""
    append = policies._append

    def split(uow: Any, policy: Any, **kw: Any) -> Any:
        if kw["kind"] is policies.Kind.ISSUE:
            uow.commit()
        return append(uow, policy, **kw)

    policies._append = split  # type: ignore[assignment]


APPLICATION = Path(__file__).resolve().parent.parent / "examples" / "cabinet-medical.yaml"


def log(fd: int, entry: dict[str, Any]) -> None:
    os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())


def pending_intent(path: Path) -> dict[str, Any] | None:
    """The last intent without an ack (a killed writer leaves at most one)."""
    if not path.exists():
        return None
    last: dict[str, Any] | None = None
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a line cut by the kill: cannot happen with one write()
            continue
        if entry["type"] == "intent":
            last = entry
        elif last is not None and entry["key"] == last["key"]:
            last = None
    return last


def perform(
    uow: SqlUnitOfWork, intent: dict[str, Any]
) -> policies.BindResult | policies.TransactionResult:
    op, key, actor = intent["op"], intent["key"], intent["actor"]
    if op == "bind":
        return policies.bind_quote(uow, OPERATOR, intent["quote"], actor, key)
    if op == "endorse":
        return policies.endorse_policy(
            uow, OPERATOR, intent["policy"], intent["effective"], intent["changes"], actor, key
        )
    if op == "cancel":
        return policies.cancel_policy(
            uow, OPERATOR, intent["policy"], intent["effective"], actor, "insured_request", key
        )
    if op == "reinstate":
        return policies.reinstate_policy(
            uow, OPERATOR, intent["policy"], intent["effective"], actor, key
        )
    raise ValueError(op)


def run(
    uow: SqlUnitOfWork, fd: int, intent: dict[str, Any]
) -> policies.BindResult | policies.TransactionResult:
    log(fd, {"type": "intent", **intent})
    result = perform(uow, intent)
    log(
        fd,
        {
            "type": "ack",
            "op": intent["op"],
            "key": intent["key"],
            "policy": result.policy_number,
            "seq": result.transaction,
        },
    )
    return result


def main() -> None:
    url, log_path, worker = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if os.environ.get(BREAK_ATOMICITY_ENV) == "1":
        break_atomicity()
    uow = SqlUnitOfWork.from_url(url)
    product = load_product()
    data = yaml.safe_load(APPLICATION.read_text(encoding="utf-8"))
    actor = f"writer-{worker}"
    binds_only = sys.argv[4:] == ["binds-only"]
    retry = pending_intent(log_path)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    if retry is not None:
        retry.pop("type")
        try:
            run(uow, fd, retry)
        except Conflict as exc:  # e.g. the broken variant left a key without its work
            log(fd, {"type": "retry_failed", "key": retry["key"], "error": str(exc)})
    stamp = uuid.uuid4().hex[:8]
    n = 0
    while True:
        n += 1
        base = f"{worker}-{stamp}-{n}"
        q = quotes.save_quote(uow, OPERATOR, data, product, actor).quote_number
        bound = run(uow, fd, {"op": "bind", "key": f"{base}-bind", "quote": q, "actor": actor})
        number = bound.policy_number
        if binds_only:
            continue
        for j in range(3):
            run(
                uow,
                fd,
                {
                    "op": "endorse",
                    "key": f"{base}-e{j}",
                    "policy": number,
                    "effective": f"2027-01-{j + 1:02d}",
                    "changes": {"establishment.annual_revenue": 460000 + 10000 * j},
                    "actor": actor,
                },
            )
        if n % 2 == 0:
            for op, day in (("cancel", "2027-02-01"), ("reinstate", "2027-02-15")):
                run(
                    uow,
                    fd,
                    {
                        "op": op,
                        "key": f"{base}-{op}",
                        "policy": number,
                        "effective": day,
                        "actor": actor,
                    },
                )


if __name__ == "__main__":
    main()
