"""The audit trail: every change to an audited record, chained with HMAC-SHA256 under a secret key.

What is audited: quotes (saved, reviewed, bound), policies and their transactions, claims (each
change of the claim row), their events and payments, portfolio runs, the hand-overs of the
pre-contractual documents (in their quote's chain), and the accounts:
organisations (created, broker of record transferred), users (created, disabled, enabled, each
login) and API clients (created, revoked, each token issued). The services write one entry per
changed record through `record` (rows) or `record_account` (account values), in the same
transaction as the change.

An entry (`egide.db.tables_audit.AuditEntryRow`) names its record (table, number, item: the
transaction's or event's sequence, the payment's id), the action, who (the principal's label)
and when, the sha256 `digest` of the record's canonical content (every column that carries
meaning, all but surrogate ids and concurrency counters: the ``*_content`` functions below), the
id of the key that signed it, the MAC of the previous entry of its chain and its own MAC:
HMAC-SHA256 under that key of all those fields. The key comes from the environment
(`egide.settings.audit_keys`); older keys verify entries signed before a rotation.

Chains: one per audited object (``quotes:DEV-…``, ``policies:POL-…`` with its transactions,
``claims:SIN-…`` with its events and payments, ``portfolio_runs:RUN-…``), so writers to different
objects never contend (a change to one object is already serialised by that object's row lock).
Each chain's head (length and last MAC, signed) catches a deleted last entry; the chain
``index`` records the opening of every other chain, so a chain deleted whole is caught too
(writers contend on the index only when they create an object, for the rest of that short
transaction).

`verify_chain` checks every entry's MAC with the key of its id, every link and head, the index,
and that every audited row still has the digest its last entry recorded (so a premium changed
through SQL is caught even if the forger recomputed the unkeyed digest: the entry's MAC then
fails); it reports every problem, naming the record. What it cannot see: the whole database
rolled back to an earlier consistent copy of itself (rows, entries and heads together): anchor
the `head` it prints outside the database (a log, a ticket) to catch that.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from egide.clock import iso_paris
from egide.clock import now as clock_now
from egide.db.tables import QuoteRow
from egide.db.tables_accounts import ApiClientRow, OrganisationEventRow, OrganisationRow, UserRow
from egide.db.tables_audit import AuditChainRow, AuditEntryRow
from egide.db.tables_claims import (
    ClaimEventRow,
    ClaimPaymentRow,
    ClaimRow,
    claim_event_value,
    claim_payment_value,
    claim_value,
)
from egide.db.tables_distribution import HandoverRow, handover_value
from egide.db.tables_policy import PolicyRow, PolicyTransactionRow
from egide.db.tables_portfolio import PortfolioRunRow
from egide.domain.access import Action, Principal
from egide.domain.accounts import ApiClient, Organisation, OrganisationEvent, User
from egide.domain.claim_record import ClaimEvent, ClaimPayment, StoredClaim
from egide.domain.errors import UnreadableRows
from egide.domain.handover import Handover
from egide.domain.policy import canonical_json
from egide.domain.policy_record import PolicyTransaction, StoredPolicy
from egide.domain.quote_record import StoredQuote
from egide.services.ports import UnitOfWork
from egide.settings import AuditKeys, audit_keys

GENESIS_MAC = "0" * 64
INDEX_CHAIN = "index"
CHAIN_TABLE = "audit_chains"  # the record an index entry is about: a chain, by name

R = TypeVar("R")
Audited = (
    QuoteRow
    | StoredQuote
    | PolicyRow
    | StoredPolicy
    | PolicyTransactionRow
    | StoredClaim
    | ClaimEvent
    | ClaimPayment
    | PolicyTransaction
    | PortfolioRunRow
    | Handover
)


# --------------------------------------------------------------------------- what is covered


def _tenancy(content: dict[str, Any], row: Any) -> dict[str, Any]:
    """The tenant of a quote, policy or claim, when it has one: moving an object to another
    tenant through SQL is a change like any other. Absent, not null, when unset, so that the
    entries written before tenancy existed (migration 0007) still match their rows."""
    for name in ("establishment_id", "broker_id"):
        value = getattr(row, name, None)
        if value is not None:
            content[name] = value
    return content


def quote_content(row: QuoteRow | StoredQuote) -> dict[str, Any]:
    content = {
        "number": row.number,
        "status": row.status,
        "decision": row.decision,
        "product_ref": row.product_ref,
        "establishment_name": row.establishment_name,
        "siret": row.siret,
        "application": row.application,
        "result": row.result,
        "valid_until": row.valid_until,
        "actor": row.actor,
        "review_note": row.review_note,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": row.reviewed_at,
        "created_at": row.created_at,
    }
    return _tenancy(content, row)


def policy_content(row: PolicyRow | StoredPolicy) -> dict[str, Any]:
    """The policy's identity (its `version` is the count of its transactions, checked apart).
    A value as the services write it and its row as `verify_chain` reads it give one digest."""
    content = {
        "number": row.number,
        "quote_number": row.quote_number,
        "siret": row.siret,
        "establishment_name": row.establishment_name,
        "created_at": row.created_at,
    }
    return _tenancy(content, row)


def transaction_content(
    policy_number: str, row: PolicyTransactionRow | PolicyTransaction
) -> dict[str, Any]:
    """A transaction as the services write it (its snapshot as stored: `CoverSnapshot.to_data`
    reads back exactly) or its row as `verify_chain` reads it (the stored JSON itself, so that a
    snapshot altered into something unreadable is reported as changed)."""
    snapshot = row.snapshot.to_data() if isinstance(row, PolicyTransaction) else row.snapshot
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
        "snapshot": snapshot,
        "change_net_cents": row.change_net_cents,
        "change_tax_cents": row.change_tax_cents,
        "term_net_cents": row.term_net_cents,
        "term_tax_cents": row.term_tax_cents,
        "idempotency_key": row.idempotency_key,
    }


# The claim side reads values (`egide.domain.claim_record`); the migrations that sealed the rows
# of their day (0005, 0007) hand these functions rows with the same attribute names, and the
# digests are of the stored form (the declaration and data documents, the amount in cents).


def claim_content(claim: StoredClaim) -> dict[str, Any]:
    """The claim (its `version` is the count of its events, checked apart)."""
    content = {
        "number": claim.number,
        "policy_number": claim.policy_number,
        "term_start": claim.term_start,
        "term_end": claim.term_end,
        "product_ref": claim.product_ref,
        "establishment_kind": claim.establishment_kind,
        "status": claim.status,
        "declaration": claim.declaration,
        "discovered_at": claim.discovered_at,
        "declared_at": claim.declared_at,
        "actor": claim.actor,
        "created_at": claim.created_at,
    }
    return _tenancy(content, claim)


def event_content(claim_number: str, event: ClaimEvent) -> dict[str, Any]:
    return {
        "claim_number": claim_number,
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at,
        "actor": event.actor,
        "note": event.note,
        "data": event.data,
    }


def payment_content(claim_number: str, payment: ClaimPayment) -> dict[str, Any]:
    return {
        "claim_number": claim_number,
        "policy_number": payment.policy_number,
        "term_start": payment.term_start,
        "amount_cents": payment.amount_cents,
        "kind": payment.kind,
        "paid_at": payment.paid_at,
        "actor": payment.actor,
    }


def run_content(row: PortfolioRunRow) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "actor": row.actor,
        "book_source": row.book_source,
        "book_sha256": row.book_sha256,
        "policies": row.policies,
        "years": row.years,
        "seed": row.seed,
        "block_years": row.block_years,
        "product_ref": row.product_ref,
        "risk_model_sha256": row.risk_model_sha256,
        "systemic_model": row.systemic_model,
        "result": row.result,
        "created_at": row.created_at,
        # who started it (migration 0008); absent for the runs saved before, so that their
        # digest stays the one their entry recorded
        **{
            name: value
            for name in _RUN_STARTED_BY
            if (value := getattr(row, name, None)) is not None
        },
    }


def handover_content(h: Handover) -> dict[str, Any]:
    """A hand-over of a pre-contractual document (`egide.services.distribution`): all of it."""
    return {
        "quote_number": h.quote_number,
        "document": h.document,
        "sha256": h.sha256,
        "channel": h.channel,
        "handed_over_at": h.handed_over_at,
        "actor": h.actor,
        "principal_kind": h.principal_kind,
        "principal_id": h.principal_id,
        "organisation_id": h.organisation_id,
        "product_ref": h.product_ref,
    }


_RUN_STARTED_BY = (
    "started_by",
    "started_by_user_id",
    "started_by_client_id",
    "started_by_organisation_id",
)


def organisation_content(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id,
        "kind": org.kind.value,
        "name": org.name,
        "siren": org.siren,
        "siret": org.siret,
        "orias": org.orias,
        "broker_id": org.broker_id,
        "created_at": org.created_at,
    }


def user_content(user: User) -> dict[str, Any]:
    """Everything but the last login (each login has its own entry): the password hash is in,
    so that a hash replaced through SQL to take over an account is caught."""
    return {
        "id": user.id,
        "organisation_id": user.organisation_id,
        "email": user.email,
        "password_hash": user.password_hash,
        "roles": sorted(r.value for r in user.roles),
        "disabled": user.disabled,
        "created_at": user.created_at,
    }


def client_content(client: ApiClient) -> dict[str, Any]:
    """Everything but the last use (each token issued has its own entry)."""
    return {
        "id": client.id,
        "client_id": client.client_id,
        "organisation_id": client.organisation_id,
        "roles": sorted(r.value for r in client.roles),
        "scopes": sorted(s.value for s in client.scopes),
        "secret_hash": client.secret_hash,
        "revoked": client.revoked,
        "created_at": client.created_at,
    }


def organisation_event_content(event: OrganisationEvent) -> dict[str, Any]:
    return {
        "organisation_id": event.organisation_id,
        "kind": event.kind,
        "at": event.at,
        "actor": event.actor,
        "note": event.note,
        "data": event.data,
    }


Account = Organisation | User | ApiClient | OrganisationEvent


@dataclass(frozen=True)
class Ref:
    """Which record an entry is about, and the chain it belongs to."""

    table: str
    number: str
    item: int | None
    chain: str


def describe(row: Audited, number: str | None = None) -> tuple[Ref, dict[str, Any]]:
    """The record and content of an audited row; `number` is the policy's (transaction) or the
    claim's (event, payment) number, which those rows do not carry."""
    if isinstance(row, QuoteRow | StoredQuote):
        return Ref("quotes", row.number, None, f"quotes:{row.number}"), quote_content(row)
    if isinstance(row, PolicyRow | StoredPolicy):
        return Ref("policies", row.number, None, f"policies:{row.number}"), policy_content(row)
    if isinstance(row, StoredClaim):
        return Ref("claims", row.number, None, f"claims:{row.number}"), claim_content(row)
    if isinstance(row, PortfolioRunRow):
        ref = Ref("portfolio_runs", row.run_id, None, f"portfolio_runs:{row.run_id}")
        return ref, run_content(row)
    if isinstance(row, Handover):  # in its quote's chain, by its id
        ref = Ref("document_handovers", row.quote_number, row.id, f"quotes:{row.quote_number}")
        return ref, handover_content(row)
    if number is None:
        raise TypeError(f"{type(row).__name__}: give the number of the record it belongs to")
    if isinstance(row, PolicyTransactionRow | PolicyTransaction):
        ref = Ref("policy_transactions", number, row.seq, f"policies:{number}")
        return ref, transaction_content(number, row)
    if isinstance(row, ClaimEvent):
        return Ref("claim_events", number, row.seq, f"claims:{number}"), event_content(number, row)
    if isinstance(row, ClaimPayment):
        ref = Ref("claim_payments", number, row.id, f"claims:{number}")
        return ref, payment_content(number, row)
    raise TypeError(f"{type(row).__name__} is not audited")


def describe_account(value: Account) -> tuple[Ref, dict[str, Any]]:
    """The record and content of an organisation, a user or an API client (by id: an email or
    a name may change, the id never does)."""
    if isinstance(value, OrganisationEvent):
        number = str(value.organisation_id)
        ref = Ref("organisation_events", number, value.id, f"organisations:{number}")
        return ref, organisation_event_content(value)
    if isinstance(value, Organisation):
        number, table, content = str(value.id), "organisations", organisation_content(value)
    elif isinstance(value, User):
        number, table, content = str(value.id), "users", user_content(value)
    else:
        number, table, content = value.client_id, "api_clients", client_content(value)
    return Ref(table, number, None, f"{table}:{number}"), content


# --------------------------------------------------------------------------- digests and MACs


def digest(content: Mapping[str, Any]) -> str:
    """sha256 of the canonical content (unkeyed: the entry's MAC is what a forger cannot redo)."""
    return hashlib.sha256(canonical_json(content, floats=True).encode("utf-8")).hexdigest()


def _mac(key: bytes, fields: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical_json(fields).encode("utf-8"), hashlib.sha256).hexdigest()


def entry_mac(key: bytes, e: AuditEntryRow) -> str:
    return _mac(
        key,
        {
            "kind": "audit entry",
            "chain": e.chain,
            "seq": e.seq,
            "recorded_at": e.recorded_at,
            "actor": e.actor,
            "record_table": e.record_table,
            "record_number": e.record_number,
            "record_item": e.record_item,
            "action": e.action,
            "digest": e.digest,
            "key_id": e.key_id,
            "prev_mac": e.prev_mac,
        },
    )


def head_mac(key: bytes, h: AuditChainRow) -> str:
    return _mac(
        key,
        {
            "kind": "audit chain head",
            "chain": h.chain,
            "length": h.length,
            "head_mac": h.head_mac,
            "key_id": h.key_id,
        },
    )


_KEY_ENV = (
    "EGIDE_AUDIT_KEY",
    "EGIDE_AUDIT_KEY_ID",
    "EGIDE_AUDIT_OLD_KEYS",
    "EGIDE_ENV",
    "EGIDE_ENVIRONMENT",
    "XDG_DATA_HOME",
    "HOME",
)


def current_keys() -> AuditKeys:
    """The audit keys of the environment, loaded once per distinct environment."""
    return _keys_for(tuple(os.environ.get(name) for name in _KEY_ENV))


@functools.lru_cache(maxsize=8)
def _keys_for(_environment: tuple[str | None, ...]) -> AuditKeys:
    return audit_keys()


# --------------------------------------------------------------------------- writing


def record(
    uow: UnitOfWork, row: Audited, action: str, actor: str, *, number: str | None = None
) -> AuditEntryRow:
    """Append the entry of `row`'s current state (call it once the row holds the change, inside
    the unit of work that writes it; the caller commits both together). The change's webhook
    event, if it makes one, is written to the outbox here too (`egide.services.events`): the one
    place every change passes through."""
    from egide.services import events

    ref, content = describe(row, number)
    entry = append(uow, ref, action, content, actor)
    events.from_audit(uow, row, action, number)
    return entry


def record_account(uow: UnitOfWork, value: Account, action: str, actor: str) -> AuditEntryRow:
    """Append the entry of an account's current state (see `record`)."""
    ref, content = describe_account(value)
    return append(uow, ref, action, content, actor)


def append(
    uow: UnitOfWork, ref: Ref, action: str, content: Mapping[str, Any], actor: str
) -> AuditEntryRow:
    """The generic writer: one entry about `ref`, at the end of its chain (opened if new)."""
    keys = current_keys()
    head = uow.audit.head(ref.chain)
    if head.length == 0 and ref.chain != INDEX_CHAIN:
        index_ref = Ref(CHAIN_TABLE, ref.chain, None, INDEX_CHAIN)
        append(uow, index_ref, "opened", {"chain": ref.chain}, actor)
    entry = AuditEntryRow(
        chain=ref.chain,
        seq=head.length + 1,
        recorded_at=clock_now(),
        actor=actor,
        record_table=ref.table,
        record_number=ref.number,
        record_item=ref.item,
        action=action,
        digest=digest(content),
        key_id=keys.current_id,
        prev_mac=head.head_mac if head.length else GENESIS_MAC,
        mac="",
    )
    entry.mac = entry_mac(keys.current, entry)
    uow.audit.add(entry)
    head.length = entry.seq
    head.head_mac = entry.mac
    head.key_id = keys.current_id
    head.mac = head_mac(keys.current, head)
    return entry


# --------------------------------------------------------------------------- verifying

_WHAT = {
    "quotes": "quote {number}",
    "policies": "policy {number}",
    "policy_transactions": "policy {number}, transaction #{item}",
    "claims": "claim {number}",
    "claim_events": "claim {number}, event #{item}",
    "claim_payments": "claim {number}, payment id {item}",
    "portfolio_runs": "portfolio run {number}",
    "document_handovers": "quote {number}, document hand-over id {item}",
    "organisations": "organisation id {number}",
    "organisation_events": "organisation id {number}, event id {item}",
    "users": "user id {number}",
    "api_clients": "API client {number}",
    CHAIN_TABLE: "audit chain {number}",
    "audit_entries": "audit entry id {item}",
}


@dataclass(frozen=True)
class Finding:
    """One problem, about one record: its table, number and item (sequence or id)."""

    table: str
    number: str
    item: int | None
    problem: str
    row_id: int | None = None  # the row's id in its table, when known

    @property
    def where(self) -> str:
        if not self.number:  # a row that cannot be read: only its table and id are known
            return f"{self.table} row id {self.row_id if self.row_id is not None else '?'}"
        template = _WHAT.get(self.table, self.table + " {number} {item}")
        where = template.format(number=self.number, item=self.item)
        if self.row_id is not None and self.table in ("policy_transactions", "claim_events"):
            where += f" (id {self.row_id})"
        return where

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "table": self.table,
            "number": self.number,
            "item": self.item,
            "row_id": self.row_id,
            "where": self.where,
            "problem": self.problem,
        }
        if self.table in ("policies", "policy_transactions"):
            data["policy_number"] = self.number
            data["seq"] = self.item if self.table == "policy_transactions" else None
            data["transaction_id"] = self.row_id if self.table == "policy_transactions" else None
        return data


@dataclass(frozen=True)
class AuditReport:
    policies: int
    transactions: int
    entries: int = 0
    chains: int = 0
    head: str | None = None  # the index chain's last MAC: anchor it outside the database
    key_ids: tuple[str, ...] = ()
    problems: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def broken(self) -> Finding | None:
        """The first problem (records in the order of the checks), None when clean."""
        return self.problems[0] if self.problems else None

    def to_data(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "policies": self.policies,
            "transactions": self.transactions,
            "entries": self.entries,
            "chains": self.chains,
            "head": self.head,
            "key_ids": list(self.key_ids),
            "problems": [p.to_data() for p in self.problems],
            "first_broken_link": self.broken.to_data() if self.broken else None,
        }


_Key = tuple[str, str, int | None]


class _Verifier:
    def __init__(self, uow: UnitOfWork, keys: AuditKeys) -> None:
        self.uow = uow
        self.keys = keys
        self.problems: list[Finding] = []

    def report(self, table: str, number: str, item: int | None, problem: str, **kw: Any) -> None:
        self.problems.append(Finding(table, number, item, problem, **kw))

    def read(self, model: type[R]) -> list[R] | None:
        """The rows of one table; None (and each unreadable row reported) when some cannot be
        read, so that its records are not all reported missing."""
        try:
            return self.uow.audit.rows(model)
        except UnreadableRows as exc:
            ids: list[int | None] = [*exc.ids] or [None]
            for row_id in ids:
                self.report(
                    exc.table,
                    "",
                    None,
                    "cannot be read: a stored value is malformed (altered outside Égide)",
                    row_id=row_id,
                )
            return None

    def about(self, e: AuditEntryRow, problem: str) -> None:
        """A problem of an entry, reported at the record the entry is about."""
        self.report(
            e.record_table,
            e.record_number,
            e.record_item,
            f"{problem} (audit entry id {e.id}, chain {e.chain} #{e.seq})",
        )

    # ---- the chains

    def chains(self, entries: list[AuditEntryRow], heads: list[AuditChainRow]) -> None:
        by_chain: dict[str, list[AuditEntryRow]] = {}
        for e in entries:
            by_chain.setdefault(e.chain, []).append(e)
        head_of = {h.chain: h for h in heads}
        for chain, rows in by_chain.items():
            self.head(chain, head_of.get(chain), len(rows), self.links(rows))
        for h in heads:
            if h.chain not in by_chain:
                self.head(h.chain, h, 0, None)
        opened: dict[str, int] = {}
        for e in by_chain.get(INDEX_CHAIN, []):
            opened[e.record_number] = opened.get(e.record_number, 0) + 1
        present = (set(by_chain) | {h.chain for h in heads}) - {INDEX_CHAIN}
        for chain in sorted(present - set(opened)):
            self.report(
                CHAIN_TABLE,
                chain,
                None,
                "is missing from the index of chains: its opening entry was deleted, or the "
                "chain was made outside Égide",
            )
        for chain in sorted(set(opened) - present):
            self.report(
                CHAIN_TABLE,
                chain,
                None,
                "is in the index of chains but absent: the chain was deleted whole",
            )
        for chain, times in sorted(opened.items()):
            if times > 1:
                self.report(CHAIN_TABLE, chain, None, f"is opened {times} times in the index")

    def links(self, rows: list[AuditEntryRow]) -> str:
        prev, expected = GENESIS_MAC, 1
        for e in rows:
            key = self.keys.keys.get(e.key_id)
            if key is None:
                self.about(
                    e,
                    f"signed with the key id {e.key_id!r}, which is not among the known keys "
                    "(EGIDE_AUDIT_KEY, EGIDE_AUDIT_OLD_KEYS)",
                )
            elif not hmac.compare_digest(entry_mac(key, e), e.mac):
                self.about(
                    e,
                    "its MAC does not match: the entry was altered, or written without the key",
                )
            if e.seq > expected:
                span = f"#{expected}" if e.seq == expected + 1 else f"#{expected} to #{e.seq - 1}"
                self.about(e, f"sequence gap: the entries {span} before it were deleted")
            elif e.seq < expected:
                self.about(e, "is out of sequence (duplicated or moved)")
            elif e.prev_mac != prev:
                self.about(
                    e,
                    "does not follow the previous entry of its chain (prev_mac): an entry before "
                    "it was altered, deleted, inserted or moved",
                )
            prev, expected = e.mac, max(expected, e.seq) + 1
        return prev

    def head(self, chain: str, h: AuditChainRow | None, stored: int, last: str | None) -> None:
        if h is None:
            self.report(CHAIN_TABLE, chain, None, "has entries but no head (deleted)")
            return
        key = self.keys.keys.get(h.key_id)
        if key is None:
            self.report(
                CHAIN_TABLE,
                chain,
                None,
                f"its head is signed with the key id {h.key_id!r}, which is not among the known "
                "keys (EGIDE_AUDIT_KEY, EGIDE_AUDIT_OLD_KEYS)",
            )
        elif not hmac.compare_digest(head_mac(key, h), h.mac):
            self.report(
                CHAIN_TABLE,
                chain,
                None,
                "its head's MAC does not match: altered, or written without the key",
            )
        if h.length != stored:
            self.report(
                CHAIN_TABLE,
                chain,
                None,
                f"its head counts {h.length} entries but {stored} are stored: "
                + ("its last entries were deleted" if h.length > stored else "entries were added"),
            )
        elif last is not None and h.head_mac != last:
            self.report(
                CHAIN_TABLE,
                chain,
                None,
                "its head ends on another entry than the last stored: that entry was replaced",
            )

    # ---- the records

    def records(self, entries: list[AuditEntryRow]) -> tuple[int, int]:
        """Compare every audited row with the last entry about it; returns the policy and
        transaction counts."""
        current: dict[_Key, tuple[str, int | None]] = {}

        def add(row: Audited, owner: str | None = None) -> None:
            ref, content = describe(row, owner)
            current[(ref.table, ref.number, ref.item)] = (digest(content), getattr(row, "id", None))

        unreadable: set[str] = set()

        def rows(model: type[R]) -> list[R]:
            found = self.read(model)
            if found is None:
                unreadable.add(str(getattr(model, "__tablename__", model)))
            return found or []

        def orphan(table: str, parent: str, parent_id: int, item: int | None, row_id: int) -> None:
            if parent + "s" not in unreadable:
                where = f"(no {parent}: {parent} id {parent_id})"
                self.report(table, where, item, f"belongs to no {parent}", row_id=row_id)

        for q in rows(QuoteRow):
            add(q)
        policies = rows(PolicyRow)
        txs = rows(PolicyTransactionRow)
        policy_numbers = {p.id: p.number for p in policies}
        for p in policies:
            add(p)
        for t in txs:
            if (owner := policy_numbers.get(t.policy_id)) is None:
                orphan("policy_transactions", "policy", t.policy_id, t.seq, t.id)
            else:
                add(t, owner)
        claims = [claim_value(c) for c in rows(ClaimRow)]
        claim_numbers = {c.id: c.number for c in claims}
        for c in claims:
            add(c)
        children: list[ClaimEvent | ClaimPayment] = [
            claim_event_value(e) for e in rows(ClaimEventRow)
        ]
        children += [claim_payment_value(p) for p in rows(ClaimPaymentRow)]
        for child in children:
            if (owner := claim_numbers.get(child.claim_id)) is None:
                if isinstance(child, ClaimEvent):
                    orphan("claim_events", "claim", child.claim_id, child.seq, child.id)
                else:
                    orphan("claim_payments", "claim", child.claim_id, child.id, child.id)
            else:
                add(child, owner)
        for r in rows(PortfolioRunRow):
            add(r)
        for h in rows(HandoverRow):
            add(handover_value(h))
        from egide.db.tables_accounts import (
            client_value,
            event_value,
            organisation_value,
            user_value,
        )

        accounts: list[Account] = [organisation_value(o) for o in rows(OrganisationRow)]
        accounts += [user_value(u) for u in rows(UserRow)]
        accounts += [client_value(c) for c in rows(ApiClientRow)]
        accounts += [event_value(e) for e in rows(OrganisationEventRow)]
        for account in accounts:
            ref, content = describe_account(account)
            current[(ref.table, ref.number, ref.item)] = (digest(content), account.id)

        recorded: dict[_Key, AuditEntryRow] = {}
        for e in entries:  # by chain and sequence: the last entry about a record wins
            if e.record_table != CHAIN_TABLE:
                recorded[(e.record_table, e.record_number, e.record_item)] = e
        for key, (value, row_id) in current.items():
            entry = recorded.get(key)
            if entry is None:
                self.report(
                    *key,
                    "is not in the audit trail: inserted outside Égide (or written before the "
                    "trail existed and not sealed by the 0005 or 0007 migration)",
                    row_id=row_id,
                )
            elif entry.digest != value:
                self.report(
                    *key,
                    f"differs from what its last audit entry recorded ({entry.action} by "
                    f"{entry.actor}): changed outside Égide",
                    row_id=row_id,
                )
        for key, entry in recorded.items():
            if key not in current and key[0] not in unreadable:
                self.report(
                    *key,
                    f"is in the audit trail ({entry.action}) but missing from its table: deleted",
                )
        self.structure(policies, txs, claims, children, unreadable)
        return len(policies), len(txs)

    def structure(
        self,
        policies: list[PolicyRow],
        txs: list[PolicyTransactionRow],
        claims: list[StoredClaim],
        children: Iterable[ClaimEvent | ClaimPayment],
        unreadable: set[str],
    ) -> None:
        """What the rows must say of themselves: a policy's transactions run 1..n from its
        issue and its version counts them; a claim's version counts its events."""
        if not {"policies", "policy_transactions"} & unreadable:
            by_policy: dict[int, list[PolicyTransactionRow]] = {}
            for t in txs:
                by_policy.setdefault(t.policy_id, []).append(t)
            for p in policies:
                seqs = sorted(t.seq for t in by_policy.get(p.id, []))
                if not seqs:
                    self.report("policies", p.number, None, "has no transaction", row_id=p.id)
                    continue
                first = min(by_policy[p.id], key=lambda t: t.seq)
                if seqs != list(range(1, len(seqs) + 1)):
                    self.report("policies", p.number, None, f"transactions run {seqs}: a gap")
                elif first.kind != "issue":
                    self.report(
                        "policy_transactions", p.number, 1, "is not the issue", row_id=first.id
                    )
                if p.version != len(seqs):
                    self.report(
                        "policies",
                        p.number,
                        None,
                        f"counts {p.version} transactions but {len(seqs)} are stored",
                    )
        if not {"claims", "claim_events"} & unreadable:
            events: dict[int, int] = {}
            for child in children:
                if isinstance(child, ClaimEvent):
                    events[child.claim_id] = events.get(child.claim_id, 0) + 1
            for c in claims:
                if c.version != events.get(c.id, 0):
                    self.report(
                        "claims",
                        c.number,
                        None,
                        f"counts {c.version} events but {events.get(c.id, 0)} are stored",
                    )


def verify_chain(uow: UnitOfWork) -> AuditReport:
    """Check the whole audit trail and every audited row; every problem found, with counts."""
    keys = current_keys()
    with uow:
        v = _Verifier(uow, keys)
        try:
            entries: list[AuditEntryRow] | None = uow.audit.entries()
        except UnreadableRows as exc:
            entries = None
            ids: list[int | None] = [*exc.ids] or [None]
            for row_id in ids:
                v.report(
                    "audit_entries",
                    "",
                    None,
                    "cannot be read: a stored value is malformed (altered outside Égide)",
                    row_id=row_id,
                )
        heads = uow.audit.chains()
        if entries is not None:
            v.chains(entries, heads)
        policies, transactions = v.records(entries or [])
        index = next((h for h in heads if h.chain == INDEX_CHAIN), None)
        return AuditReport(
            policies=policies,
            transactions=transactions,
            entries=len(entries or []),
            chains=len(heads),
            head=index.head_mac if index is not None else None,
            key_ids=tuple(sorted({e.key_id for e in entries or []})),
            problems=tuple(v.problems),
        )


verify = verify_chain


def verify_trail(uow: UnitOfWork, principal: Principal) -> AuditReport:
    """`verify_chain` for a principal: the insurer's administrators."""
    from egide.services.accounts import ACCOUNTS, require

    require(principal, Action.AUDIT_VERIFY, ACCOUNTS, "audit trail")
    return verify_chain(uow)


_HISTORY_TABLES = {"quote": "quotes", "policy": "policies", "claim": "claims"}


def object_history(
    uow: UnitOfWork, principal: Principal, kind: str, number: str
) -> list[dict[str, Any]]:
    """What the trail recorded about one quote, policy or claim (with its transactions, events
    and payments), oldest first: who did what and when, and which key signed it. The principal
    must be able to read the object (another tenant's does not exist)."""
    from egide.domain.errors import FieldError, InvalidInput
    from egide.domain.text import require_parameters
    from egide.services import tenancy

    if kind not in _HISTORY_TABLES:
        raise InvalidInput([FieldError("kind", "enum", "must be quote, policy or claim")])
    require_parameters(number=number)
    with uow:
        row: StoredQuote | StoredPolicy | StoredClaim | None = (
            uow.quotes.get(number)
            if kind == "quote"
            else uow.policies.get(number)
            if kind == "policy"
            else uow.claims.get(number)
        )
        tenancy.visible_row(principal, Action(f"{kind}.read"), row, f"{kind} {number}")
        entries = uow.audit.chain_entries(f"{_HISTORY_TABLES[kind]}:{number}")
        return [
            {
                "seq": e.seq,
                "recorded_at": iso_paris(e.recorded_at),
                "action": e.action,
                "by": e.actor,
                "record": e.record_table,
                "item": e.record_item,
                "key_id": e.key_id,
            }
            for e in entries
        ]
