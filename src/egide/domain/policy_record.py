"""A stored policy and its transactions as the services see them: values, not database rows.

The repositories (`egide.services.ports.Policies`) return and accept them; the row mapping is
explicit in `egide.db.tables_policy` (`policy_value`, `policy_row`, `update_policy_row`,
`transaction_value`, `transaction_row`). A change to a policy is a new value
(`dataclasses.replace`) given back to the repository's `update` (its version counter and its
tenant only: the rest never changes); a transaction is never changed once stored.

The cover snapshot of a transaction (the answers, the terms, the annual premium and the
underwriting outcome in force after it) is a typed, versioned value, `CoverSnapshot`. It is
stored as JSON and read back exactly: ``CoverSnapshot.from_data(data).to_data() == data``, key
order included, for every snapshot Égide writes, so that the audit trail's digests of stored
transactions do not change when they are read and written again. Schema version 1 (the only one
so far) is stored without a version key, as every snapshot was before versions existed; a later
version will be written with ``"schema_version": N``. Stored JSON that is not a snapshot of a
known version (a missing or mistyped field, an unknown key, a number in a non-canonical form)
raises `MalformedSnapshot`, naming the field, never a KeyError.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from egide.domain.errors import DomainError
from egide.domain.policy import Period, Premium, TxView
from egide.domain.terms import CoverageTermsInForce, PolicyTerms

SNAPSHOT_VERSION = 1  # the version `CoverSnapshot` writes
_VERSION_KEY = "schema_version"


class MalformedSnapshot(DomainError):
    """Stored snapshot JSON that is not a cover snapshot Égide can read (altered outside Égide,
    or written by a later version): `field` is the dotted path inside the snapshot."""

    def __init__(self, field: str, problem: str, record: str | None = None) -> None:
        self.field, self.problem, self.record = field, problem, record
        where = f"{record}: " if record else ""
        super().__init__(f"{where}stored cover snapshot: {field or '(whole)'}: {problem}")

    def about(self, record: str) -> MalformedSnapshot:
        """The same error, naming the stored record it was read from."""
        return MalformedSnapshot(self.field, self.problem, record)


# --------------------------------------------------------------------------- reading JSON


def _object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise MalformedSnapshot(field, "must be a JSON object")
    return value


def _get(data: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in data:
        raise MalformedSnapshot(f"{field}{key}", "is missing")
    return data[key]


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise MalformedSnapshot(field, "must be a string")
    return value


def _decimal(value: object, field: str) -> Decimal:
    """A decimal written as its canonical string (`str(Decimal)`), finite."""
    text = _text(value, field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise MalformedSnapshot(field, "must be a decimal number written as a string") from None
    if not number.is_finite() or str(number) != text:
        raise MalformedSnapshot(field, "must be a finite decimal in its canonical form")
    return number


def _integer(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedSnapshot(field, "must be an integer")
    return value


def _premium(value: object, field: str) -> Premium:
    data = _object(value, field)
    premium = Premium(
        _decimal(_get(data, "net", f"{field}."), f"{field}.net"),
        _decimal(_get(data, "tax", f"{field}."), f"{field}.tax"),
    )
    if premium.to_data() != data:
        raise MalformedSnapshot(field, "must be net, tax and their total, in cents")
    return premium


def terms_to_data(terms: PolicyTerms) -> dict[str, Any]:
    """The terms as a snapshot stores them (amounts and hours as decimal strings)."""
    return {
        "coverages": {
            code: {"limit": str(c.limit), "sub_deductible": str(c.sub_deductible)}
            for code, c in terms.coverages.items()
        },
        "deductible": str(terms.deductible),
        "aggregate_limit": str(terms.aggregate_limit),
        "waiting_period_hours": str(terms.waiting_period_hours),
        "waiting_period_mode": terms.waiting_period_mode,
        "indemnity_period_hours": str(terms.indemnity_period_hours),
    }


def terms_from_data(value: object, field: str = "terms") -> PolicyTerms:
    """The terms a snapshot stores (`terms_to_data`); MalformedSnapshot names a bad field."""
    data = _object(value, field)
    at = f"{field}."
    coverages = _object(_get(data, "coverages", at), f"{at}coverages")
    return PolicyTerms(
        coverages={
            code: CoverageTermsInForce(
                _decimal(_get(c, "limit", f"{at}coverages.{code}."), f"{at}coverages.{code}.limit"),
                _decimal(
                    _get(c, "sub_deductible", f"{at}coverages.{code}."),
                    f"{at}coverages.{code}.sub_deductible",
                ),
            )
            for code, raw in coverages.items()
            for c in [_object(raw, f"{at}coverages.{code}")]
        },
        deductible=_decimal(_get(data, "deductible", at), f"{at}deductible"),
        aggregate_limit=_decimal(_get(data, "aggregate_limit", at), f"{at}aggregate_limit"),
        waiting_period_hours=_decimal(
            _get(data, "waiting_period_hours", at), f"{at}waiting_period_hours"
        ),
        waiting_period_mode=_text(
            _get(data, "waiting_period_mode", at), f"{at}waiting_period_mode"
        ),
        indemnity_period_hours=_decimal(
            _get(data, "indemnity_period_hours", at), f"{at}indemnity_period_hours"
        ),
    )


def _first_difference(stored: Any, written: Any, field: str = "") -> str | None:
    """The dotted path of the first place where `written` is not exactly `stored` (a key, the
    order of the keys, a value or its JSON type); None when it is exactly the same."""
    if stored is written:
        return None
    here = field.rstrip(".") or "(whole)"
    if type(stored) is not type(written):
        return here
    if isinstance(stored, dict):
        for key in stored:
            if key not in written:
                return f"{field}{key}"
        if list(stored) != list(written):
            return here
        for key, value in stored.items():
            found = _first_difference(value, written[key], f"{field}{key}.")
            if found is not None:
                return found
        return None
    if isinstance(stored, list):
        if len(stored) != len(written):
            return here
        for i, (a, b) in enumerate(zip(stored, written, strict=True)):
            found = _first_difference(a, b, f"{field}{i}.")
            if found is not None:
                return found
        return None
    return None if stored == written else here


# --------------------------------------------------------------------------- the values


@dataclass(frozen=True)
class CoverSnapshot:
    """The cover in force after a transaction: the insured's answers (`application`, the JSON
    document of `egide.domain.application.Application.to_data`, kept as stored: reading it as
    an `Application` needs the product), the policy terms, the annual premium and its split by
    coverage, the tax rate, and the underwriting outcome (security score, decision, reason
    codes, the underwriter's note when one approved a referral)."""

    application: dict[str, Any]
    terms: PolicyTerms
    annual_premium: Premium
    coverage_premiums: Mapping[str, Decimal]
    tax_rate: Decimal
    security_score: int
    decision: str  # accept | refer | decline
    reasons: tuple[str, ...]
    underwriter_note: str | None = None
    schema_version: int = SNAPSHOT_VERSION

    def to_data(self) -> dict[str, Any]:
        """The JSON stored on the transaction (a fresh copy)."""
        return self._data(copy.deepcopy(self.application))

    def _data(self, application: dict[str, Any]) -> dict[str, Any]:
        if self.schema_version != SNAPSHOT_VERSION:
            raise ValueError(f"cannot write cover snapshot version {self.schema_version}")
        data: dict[str, Any] = {
            "application": application,
            "terms": terms_to_data(self.terms),
            "annual_premium": self.annual_premium.to_data(),
            "coverage_premiums": {code: str(p) for code, p in self.coverage_premiums.items()},
            "tax_rate": str(self.tax_rate),
            "security_score": self.security_score,
            "decision": self.decision,
            "reasons": list(self.reasons),
        }
        if self.underwriter_note:
            data["underwriter_note"] = self.underwriter_note
        return data

    @classmethod
    def from_data(cls, value: object) -> CoverSnapshot:
        """The snapshot stored as `value` (JSON as read back); MalformedSnapshot otherwise."""
        data = _object(value, "")
        if _VERSION_KEY in data:
            raise MalformedSnapshot(
                _VERSION_KEY,
                f"is not a version this Égide reads (version {SNAPSHOT_VERSION}, the only one, "
                "is stored without the key)",
            )
        reasons = _get(data, "reasons", "")
        if not isinstance(reasons, list):
            raise MalformedSnapshot("reasons", "must be a list of reason codes")
        note = data.get("underwriter_note")
        snapshot = cls(
            application=copy.deepcopy(
                _object(_get(data, "application", ""), "application"),
            ),
            terms=terms_from_data(_get(data, "terms", "")),
            annual_premium=_premium(_get(data, "annual_premium", ""), "annual_premium"),
            coverage_premiums={
                code: _decimal(p, f"coverage_premiums.{code}")
                for code, p in _object(
                    _get(data, "coverage_premiums", ""), "coverage_premiums"
                ).items()
            },
            tax_rate=_decimal(_get(data, "tax_rate", ""), "tax_rate"),
            security_score=_integer(_get(data, "security_score", ""), "security_score"),
            decision=_text(_get(data, "decision", ""), "decision"),
            reasons=tuple(_text(r, f"reasons.{i}") for i, r in enumerate(reasons)),
            underwriter_note=None if note is None else _text(note, "underwriter_note"),
        )
        # the answers are kept as they are (a copy): the rest must write back exactly as stored
        field = _first_difference(data, snapshot._data(data["application"]))
        if field is not None:
            raise MalformedSnapshot(
                field, "does not read back as it was written (an unknown key, or a changed form)"
            )
        return snapshot


@dataclass(frozen=True)
class StoredPolicy:
    """A policy's identity, its tenant and its concurrency guard (`version`: the number of its
    transactions); status and cover are derived from the transactions."""

    number: str
    quote_number: str
    siret: str
    establishment_name: str
    establishment_id: int | None  # the tenant (egide.services.tenancy)
    broker_id: int | None
    version: int
    created_at: datetime
    id: int = 0  # given by the repository when stored


def _money(c: int) -> Decimal:
    return (Decimal(c) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class PolicyTransaction:
    """One immutable transaction of a policy (issue, endorse, cancel, reinstate, renew): its
    effective day and period (days from 0 h, Europe/Paris; the end exclusive), when and by whom
    it was recorded, the cover in force after it, the premium change it causes and the term's
    premium after it (whole cents)."""

    policy_id: int
    seq: int  # 1, 2, 3... within the policy
    kind: str  # a `egide.domain.policy.Kind` value
    term: int  # 1 for the first period, +1 per renewal
    effective_date: date
    period_start: date
    period_end: date
    retroactive_date: date
    recorded_at: datetime
    actor: str
    reason: str | None
    product_ref: str
    snapshot: CoverSnapshot
    change_net_cents: int
    change_tax_cents: int
    term_net_cents: int
    term_tax_cents: int
    idempotency_key: str | None = None
    id: int = 0  # given by the repository when stored

    @property
    def period(self) -> Period:
        return Period(self.period_start, self.period_end)

    @property
    def change(self) -> Premium:
        """The premium change this transaction causes."""
        return Premium(_money(self.change_net_cents), _money(self.change_tax_cents))

    @property
    def term_premium(self) -> Premium:
        """The premium of the term after this transaction."""
        return Premium(_money(self.term_net_cents), _money(self.term_tax_cents))

    @property
    def view(self) -> TxView:
        """What the rules of `egide.domain.policy` read of it."""
        return TxView(self.seq, self.kind, self.term, self.effective_date, self.period)
