"""Policy use cases on SQLite (a fresh database per test), the clock frozen on 1 December 2026."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from egide.db.tables_policy import IdempotencyRow, PolicyRow, PolicyTransactionRow
from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import Conflict, InvalidInput, NotFound
from egide.domain.policy import PARIS
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.results import contract
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR

D = Decimal


def save(uow: SqlUnitOfWork, product: Product, name: str = "cabinet-medical.yaml") -> str:
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    return str(quotes.save_quote(uow, OPERATOR, data, product, "broker").quote_number)


def bound(uow: SqlUnitOfWork, product: Product, **kw: str) -> dict[str, object]:
    return contract(policies.bind_quote(uow, OPERATOR, save(uow, product), "alice", **kw))  # type: ignore[arg-type]


def counts(uow: SqlUnitOfWork) -> tuple[int, int, int]:
    with uow:
        s = uow.session
        return (
            s.scalar(sa.select(sa.func.count()).select_from(PolicyRow)) or 0,
            s.scalar(sa.select(sa.func.count()).select_from(PolicyTransactionRow)) or 0,
            s.scalar(sa.select(sa.func.count()).select_from(IdempotencyRow)) or 0,
        )


def test_binding_an_accepted_quote_issues_a_one_year_claims_made_policy_at_the_quoted_premium(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = save(uow, product)
    quoted = quotes.get_quote(uow, OPERATOR, number).priced.premium.public()
    p = contract(policies.bind_quote(uow, OPERATOR, number, "alice", start="2026-12-15"))
    assert p["status"] == "not_yet_in_force"
    assert p["period_start"] == "2026-12-15T00:00:00+01:00"
    assert p["period_end"] == "2027-12-15T00:00:00+01:00"
    assert p["retroactive_date"] == "2026-12-15"
    assert p["premium"] == quoted
    assert quotes.get_quote(uow, OPERATOR, number).status == "bound"


def test_a_quote_binds_once_and_binding_it_again_returns_the_same_policy(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = save(uow, product)
    first = contract(policies.bind_quote(uow, OPERATOR, number, "alice"))
    again = contract(policies.bind_quote(uow, OPERATOR, number, "bob"))
    assert again["policy_number"] == first["policy_number"]
    assert counts(uow)[:2] == (1, 1)


def test_the_same_idempotency_key_returns_the_first_result_and_another_request_conflicts(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    p = bound(uow, product)
    args = dict(effective="2027-03-01", changes={"cover.limit": 250000}, actor="alice")
    first = contract(
        policies.endorse_policy(uow, OPERATOR, p["policy_number"], idempotency_key="k-1", **args)
    )  # type: ignore[arg-type]
    second = contract(
        policies.endorse_policy(uow, OPERATOR, p["policy_number"], idempotency_key="k-1", **args)
    )  # type: ignore[arg-type]
    assert first == second
    assert counts(uow)[1] == 2
    with pytest.raises(Conflict, match="different request"):
        policies.endorse_policy(
            uow,
            OPERATOR,
            str(p["policy_number"]),
            "2027-03-01",
            {"cover.limit": 500000},
            "alice",
            idempotency_key="k-1",
        )


def test_a_referred_quote_binds_only_once_an_underwriter_approved_it(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = save(uow, product, "clinique-120-lits.yaml")
    with pytest.raises(Conflict, match="referred"):
        policies.bind_quote(uow, OPERATOR, number, "alice")
    assert counts(uow)[:2] == (0, 0)
    quotes.review_quote(uow, OPERATOR, number, True, "segmentation plan received", "uw")
    p = contract(policies.bind_quote(uow, OPERATOR, number, "alice"))
    assert p["status"] == "in_force"


def test_declined_and_expired_quotes_do_not_bind(
    uow: SqlUnitOfWork, product: Product, frozen_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    declined = save(uow, product, "cases/cabinet-medical-poor-security.yaml")
    with pytest.raises(Conflict, match="declined"):
        policies.bind_quote(uow, OPERATOR, declined, "alice")
    number = save(uow, product)
    monkeypatch.setenv("EGIDE_NOW", "2027-01-15T10:00:00+01:00")
    with pytest.raises(Conflict, match="expired"):
        policies.bind_quote(uow, OPERATOR, number, "alice")
    with pytest.raises(NotFound):
        policies.bind_quote(uow, OPERATOR, "DEV-NOPE", "alice")


def test_a_start_in_the_past_is_bad_input_and_nothing_is_written(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = save(uow, product)
    with pytest.raises(InvalidInput) as exc:
        policies.bind_quote(uow, OPERATOR, number, "alice", start="2026-11-01")
    assert exc.value.errors[0].field == "start"
    assert counts(uow) == (0, 0, 0)


def test_an_endorsement_is_rerated_and_charged_pro_rata_to_the_day(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    p = bound(uow, product)
    number = str(p["policy_number"])
    before = contract(policies.get_policy(uow, OPERATOR, number))
    e = contract(
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-06-01", {"cover.limit": 500000}, "alice"
        )
    )
    after = contract(policies.get_policy(uow, OPERATOR, number, datetime(2027, 6, 1, tzinfo=PARIS)))
    old_net, new_net = D(before["annual_premium"]["net"]), D(after["annual_premium"]["net"])
    assert new_net > old_net
    # 1 June 2027 to 1 December 2027: 183 of 365 days
    expected = ((new_net - old_net) * 183 / 365).quantize(D("0.01"))
    assert D(e["premium_change"]["net"]) == expected
    assert D(e["premium_change"]["tax"]) == (expected * D("0.09")).quantize(D("0.01"))
    assert after["aggregate_limit"] == "500000.00"
    assert D(after["term_premium"]["total"]) == D(p["premium"]["total"]) + D(
        e["premium_change"]["total"]
    )  # type: ignore[index]
    # the day before, the old cover is in force
    earlier = contract(
        policies.get_policy(uow, OPERATOR, number, datetime(2027, 5, 31, 23, 59, tzinfo=PARIS))
    )
    assert earlier["aggregate_limit"] == "100000.00"


def test_an_endorsement_with_a_bad_value_names_the_field_and_writes_nothing(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    before = counts(uow)
    with pytest.raises(InvalidInput) as exc:
        policies.endorse_policy(uow, OPERATOR, number, "2027-03-01", {"cover.limit": 123}, "alice")
    assert exc.value.errors[0].field == "cover.limit"
    with pytest.raises(InvalidInput) as exc:
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-03-01", {"establishment.siret": "1"}, "alice"
        )
    assert exc.value.errors[0].rule == "not_endorsable"
    with pytest.raises(InvalidInput) as exc:
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-13-01", {"cover.limit": 250000}, "alice"
        )
    assert exc.value.errors[0].field == "effective"
    with pytest.raises(InvalidInput) as exc:
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-03-01", {"cover.limit": 100000}, "alice"
        )
    assert exc.value.errors[0].rule == "no_change"
    assert counts(uow) == before


def test_a_change_dated_before_the_latest_transaction_is_refused_with_a_clear_message(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    policies.endorse_policy(uow, OPERATOR, number, "2027-06-01", {"security.edr": True}, "alice")
    with pytest.raises(InvalidInput, match="before the latest transaction"):
        policies.cancel_policy(uow, OPERATOR, number, "2027-05-01", "alice")


def test_cancellation_at_the_insureds_request_refunds_pro_rata(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    p = bound(uow, product)
    number = str(p["policy_number"])
    c = contract(
        policies.cancel_policy(uow, OPERATOR, number, "2027-06-01", "alice", "insured_request")
    )
    net = D(p["premium"]["net"])  # type: ignore[index]
    assert D(c["premium_change"]["net"]) == -(net * 183 / 365).quantize(D("0.01"))
    shown = contract(policies.get_policy(uow, OPERATOR, number, datetime(2027, 6, 1, tzinfo=PARIS)))
    assert shown["status"] == "cancelled"
    assert (
        policies.get_policy(uow, OPERATOR, number, datetime(2027, 5, 31, tzinfo=PARIS)).status.value
        == "in_force"
    )


def test_cancellation_for_non_payment_refunds_nothing_and_reinstatement_charges_nothing(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    p = bound(uow, product)
    number = str(p["policy_number"])
    c = contract(
        policies.cancel_policy(uow, OPERATOR, number, "2027-02-01", "alice", "non_payment")
    )
    assert c["premium_change"] == {"net": "0.00", "tax": "0.00", "total": "0.00"}
    r = contract(policies.reinstate_policy(uow, OPERATOR, number, "2027-02-10", "alice"))
    assert r["premium_change"]["total"] == "0.00"
    assert r["term_premium"] == p["premium"]
    assert (
        policies.get_policy(uow, OPERATOR, number, datetime(2027, 2, 5, tzinfo=PARIS)).status.value
        == "cancelled"
    )
    assert (
        policies.get_policy(uow, OPERATOR, number, datetime(2027, 2, 10, tzinfo=PARIS)).status.value
        == "in_force"
    )


def test_a_reinstatement_after_a_refund_charges_back_the_remaining_days(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    p = bound(uow, product)
    number = str(p["policy_number"])
    policies.cancel_policy(uow, OPERATOR, number, "2027-06-01", "alice")
    r = contract(policies.reinstate_policy(uow, OPERATOR, number, "2027-07-01", "alice"))
    net = D(p["premium"]["net"])  # type: ignore[index]
    assert D(r["premium_change"]["net"]) == (net * 153 / 365).quantize(D("0.01"))
    with pytest.raises(Conflict, match="not cancelled"):
        policies.reinstate_policy(uow, OPERATOR, number, "2027-08-01", "alice")


def test_a_cancelled_policy_cannot_be_endorsed_or_cancelled_again(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    policies.cancel_policy(uow, OPERATOR, number, "2027-06-01", "alice")
    with pytest.raises(Conflict, match="reinstate"):
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-07-01", {"security.edr": True}, "alice"
        )
    with pytest.raises(Conflict, match="already cancelled"):
        policies.cancel_policy(uow, OPERATOR, number, "2027-07-01", "alice")


def test_renewal_re_underwrites_with_the_current_product_and_starts_at_the_old_end(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    data["establishment"]["annual_revenue"] = 600000
    r = contract(policies.renew_policy(uow, OPERATOR, number, product, "alice", application=data))
    assert r["effective"] == "2027-12-01"
    shown = contract(policies.get_policy(uow, OPERATOR, number, datetime(2028, 1, 1, tzinfo=PARIS)))
    assert shown["term"] == 2 and shown["status"] == "in_force"
    assert shown["period_end"] == "2028-12-01T00:00:00+01:00"
    assert shown["term_premium"] == r["premium_change"]
    with pytest.raises(Conflict, match="already renewed"):
        policies.renew_policy(uow, OPERATOR, number, product, "alice")


def test_a_renewal_insures_the_same_establishment(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    """Another SIRET in the renewal's answers would put another establishment (another tenant's
    data, possibly) under this policy: refused, nothing written."""
    number = str(bound(uow, product)["policy_number"])
    data = yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text(encoding="utf-8"))
    with pytest.raises(InvalidInput) as exc:
        policies.renew_policy(uow, OPERATOR, number, product, "alice", application=data)
    assert [(e.field, e.rule) for e in exc.value.errors] == [
        ("establishment.siret", "same_insured")
    ]
    assert counts(uow)[1] == 1


def test_a_renewal_that_underwriting_declines_is_refused_with_its_reasons(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    bad = yaml.safe_load((EXAMPLES / "cases/cabinet-medical-poor-security.yaml").read_text())
    good = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text())
    bad["establishment"] = good["establishment"]
    with pytest.raises(Conflict, match="SCORE_TOO_LOW"):
        policies.renew_policy(uow, OPERATOR, number, product, "alice", application=bad)
    assert counts(uow)[1] == 1


def test_a_referred_renewal_is_refused_until_an_underwriter_approves_it(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text())
    data["history"] = {"incidents_last_5_years": 2}
    with pytest.raises(Conflict, match="SEVERAL_INCIDENTS"):
        policies.renew_policy(uow, OPERATOR, number, product, "alice", application=data)
    r = contract(
        policies.renew_policy(
            uow,
            OPERATOR,
            number,
            product,
            "uw",
            application=data,
            underwriter_note="incidents reviewed",
        )
    )
    assert r["kind"] == "renew"
    shown = contract(policies.get_policy(uow, OPERATOR, number))
    assert shown["transactions"][-1]["reason"] == "incidents reviewed"


def test_cover_in_force_gives_status_terms_and_answers_on_a_moment(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product, start="2026-12-15")["policy_number"])
    policies.endorse_policy(uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250000}, "alice")
    with uow:
        before = policies.cover_in_force(uow, number, datetime(2026, 12, 14, 12, tzinfo=PARIS))
        mid = policies.cover_in_force(uow, number, datetime(2027, 3, 1, 0, 0, tzinfo=PARIS))
        after = policies.cover_in_force(uow, number, datetime(2027, 12, 15, 0, 0, tzinfo=PARIS))
        with pytest.raises(NotFound):
            policies.cover_in_force(uow, "POL-NOPE", datetime(2027, 1, 1, tzinfo=PARIS))
    assert before.status == "not_yet_in_force" and before.terms.aggregate_limit == D(100000)
    assert mid.status == "in_force" and mid.terms.aggregate_limit == D(250000)
    assert mid.application.cover.limit == D(250000)
    assert mid.period_start == datetime(2026, 12, 15, tzinfo=PARIS)
    assert after.status == "expired"


def test_policy_row_for_update_returns_the_locked_row_and_refuses_unknown_numbers(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    with uow:
        assert policies.policy_row_for_update(uow, number).number == number
        with pytest.raises(NotFound):
            policies.policy_row_for_update(uow, "POL-NOPE")


def test_an_expected_version_that_is_no_longer_current_is_a_conflict(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    policies.endorse_policy(
        uow, OPERATOR, number, "2027-03-01", {"security.edr": True}, "a", expected_version=1
    )
    with pytest.raises(Conflict, match="version 2, not 1"):
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250000}, "b", expected_version=1
        )


def test_unknown_policies_are_not_found(
    uow: SqlUnitOfWork, frozen_now: str, tmp_path: Path
) -> None:
    with pytest.raises(NotFound):
        policies.get_policy(uow, OPERATOR, "POL-NOPE")
    with pytest.raises(NotFound):
        policies.cancel_policy(uow, OPERATOR, "POL-NOPE", "2027-01-01", "a")


def test_a_failure_before_commit_rolls_back_the_work_and_its_key_so_a_retry_runs_again(
    uow: SqlUnitOfWork, product: Product, frozen_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = str(bound(uow, product)["policy_number"])
    before = counts(uow)
    original = policies._tx_result

    def crash(*args: object) -> dict[str, object]:
        raise RuntimeError("the process dies before commit")

    monkeypatch.setattr(policies, "_tx_result", crash)
    with pytest.raises(RuntimeError):
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250000}, "a", "k-9"
        )
    assert counts(uow) == before
    monkeypatch.setattr(policies, "_tx_result", original)
    again = contract(
        policies.endorse_policy(
            uow, OPERATOR, number, "2027-03-01", {"cover.limit": 250000}, "a", "k-9"
        )
    )
    assert again["transaction"] == 2
    assert counts(uow) == (before[0], before[1] + 1, before[2] + 1)


def test_a_malformed_idempotency_key_is_bad_input(
    uow: SqlUnitOfWork, product: Product, frozen_now: str
) -> None:
    number = str(bound(uow, product)["policy_number"])
    with pytest.raises(InvalidInput) as exc:
        policies.cancel_policy(uow, OPERATOR, number, "2027-03-01", "a", idempotency_key="x" * 101)
    assert exc.value.errors[0].field == "idempotency_key"
