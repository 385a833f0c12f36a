"""The tamper-evident history: each policy transaction carries a hash chained to the previous one.

One chain per policy (so writers to different policies never contend on it): row n's hash is
``link_hash(row n-1's hash, content of row n)`` (`egide.domain.policy.link_hash`), the first
row chaining from `GENESIS_HASH`; the policy row holds the head (hash of the last transaction)
and the count (`version`), so a deleted last row is caught too. The content covers every column
that carries meaning (all but the surrogate ids): the policy number, sequence, kind, term, dates,
who and when, the reason, the product version, the coverage snapshot and the money.

`verify_chain` recomputes everything and names the first broken link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egide.db.tables_policy import PolicyRow, PolicyTransactionRow
from egide.domain.errors import UnreadableRows
from egide.domain.policy import GENESIS_HASH, link_hash
from egide.services.ports import UnitOfWork


def transaction_content(policy_number: str, row: PolicyTransactionRow) -> dict[str, Any]:
    """What the hash of a transaction row covers."""
    return {
        "policy_number": policy_number,
        "seq": row.seq,
        "kind": row.kind,
        "term": row.term,
        "effective_date": row.effective_date,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "retroactive_date": row.retroactive_date,
        "recorded_at": row.recorded_at,
        "actor": row.actor,
        "reason": row.reason,
        "product_ref": row.product_ref,
        "snapshot": row.snapshot,
        "change_net_cents": row.change_net_cents,
        "change_tax_cents": row.change_tax_cents,
        "term_net_cents": row.term_net_cents,
        "term_tax_cents": row.term_tax_cents,
        "idempotency_key": row.idempotency_key,
    }


@dataclass(frozen=True)
class BrokenLink:
    policy_number: str
    seq: int | None  # None: the policy row itself (head, count)
    transaction_id: int | None
    problem: str

    def __str__(self) -> str:
        if self.seq:
            where = f"transaction #{self.seq} (id {self.transaction_id})"
        elif self.transaction_id:
            where = f"transaction id {self.transaction_id}"
        else:
            where = "policy row"
        return f"policy {self.policy_number}, {where}: {self.problem}"


@dataclass(frozen=True)
class AuditReport:
    policies: int
    transactions: int
    broken: BrokenLink | None  # the first broken link (policies by id, transactions by seq)

    @property
    def clean(self) -> bool:
        return self.broken is None

    def to_data(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "policies": self.policies,
            "transactions": self.transactions,
            "first_broken_link": None
            if self.broken is None
            else {
                "policy_number": self.broken.policy_number,
                "seq": self.broken.seq,
                "transaction_id": self.broken.transaction_id,
                "problem": self.broken.problem,
            },
        }


def _check_policy(policy: PolicyRow, rows: list[PolicyTransactionRow]) -> BrokenLink | None:
    prev = GENESIS_HASH
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return BrokenLink(
                policy.number, row.seq, row.id, f"sequence gap: expected #{expected_seq}"
            )
        if row.prev_hash != prev:
            return BrokenLink(
                policy.number,
                row.seq,
                row.id,
                "prev_hash does not match the previous transaction's hash "
                "(a row was changed, removed or inserted before it)",
            )
        computed = link_hash(prev, transaction_content(policy.number, row))
        if computed != row.hash:
            return BrokenLink(
                policy.number,
                row.seq,
                row.id,
                "content does not match its hash (the row was changed after it was recorded)",
            )
        prev = row.hash
    if not rows:
        return BrokenLink(policy.number, None, None, "policy without any transaction")
    if rows[0].kind != "issue":
        return BrokenLink(policy.number, 1, rows[0].id, "first transaction is not the issue")
    if policy.version != len(rows):
        return BrokenLink(
            policy.number,
            None,
            None,
            f"policy counts {policy.version} transactions but {len(rows)} are stored",
        )
    if policy.head_hash != prev:
        return BrokenLink(
            policy.number, None, None, "head hash does not match the last transaction's hash"
        )
    return None


def verify_chain(uow: UnitOfWork) -> AuditReport:
    """Recompute every policy's chain; the first broken link (or None) with counts."""
    with uow:
        try:
            policies = uow.policies.all()
            txs = uow.policies.all_transactions()
        except UnreadableRows as exc:
            problem = (
                f"{exc.table} row id {exc.ids[0] if exc.ids else '?'} cannot be read: a stored "
                "value is malformed (the database was altered outside Égide)"
            )
            first = exc.ids[0] if exc.ids else None
            if exc.table == "policies":
                return AuditReport(0, 0, BrokenLink(f"(row id {first})", None, None, problem))
            return AuditReport(0, 0, BrokenLink("?", None, first, problem))
        by_policy: dict[int, list[PolicyTransactionRow]] = {}
        for tx in txs:
            by_policy.setdefault(tx.policy_id, []).append(tx)
        known = {p.id for p in policies}
        broken: BrokenLink | None = None
        for policy in policies:
            broken = _check_policy(policy, by_policy.get(policy.id, []))
            if broken is not None:
                break
        if broken is None:
            orphans = [tx for tx in txs if tx.policy_id not in known]
            if orphans:
                broken = BrokenLink(
                    "?", orphans[0].seq, orphans[0].id, "transaction without policy"
                )
        return AuditReport(len(policies), len(txs), broken)
