"""The money invariant, on random sequences of endorsements, cancellations and reinstatements
(through the services, on SQLite):

- every transaction's premium change is in cents and its total is net + tax;
- the term premium on each row is the previous one plus the change: the premiums of the term's
  transactions add up to what the insured owes;
- what the insured owes equals, within a half-cent per transaction (the one rounding of each
  change), the premium earned day by day: each day of the period costs the annual premium in
  force that day / days in the period, unless a refunding cancellation has lapsed the cover.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from egide.db.uow import SqlUnitOfWork
from egide.domain.errors import Conflict, InvalidInput
from egide.domain.product import load_product
from egide.services import policies, quotes
from egide.services.results import contract
from tests.conftest import EXAMPLES
from tests.fakes import OPERATOR

D = Decimal
PRODUCT = load_product()
CENT = D("0.01")
START = date(2026, 12, 1)
END = date(2027, 12, 1)
DAYS = (END - START).days

CHANGES = st.one_of(
    st.sampled_from([100000, 250000, 500000, 1000000]).map(lambda v: ("cover.limit", v)),
    st.sampled_from([0, 500, 1000, 2500]).map(lambda v: ("cover.deductible", v)),
    st.sampled_from([300000, 450000, 900000]).map(lambda v: ("establishment.annual_revenue", v)),
    st.booleans().map(lambda v: ("security.edr", v)),
)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["endorse", "endorse", "cancel", "reinstate"]),
        st.integers(min_value=0, max_value=90),  # days after the previous change
        CHANGES,
        st.sampled_from(["insured_request", "non_payment"]),
    ),
    min_size=1,
    max_size=7,
)


def earned(history: list[dict[str, object]], tax_rate: D) -> D:
    """The premium before tax earned day by day, exactly (no rounding)."""
    total = D(0)
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        rate, charged = D(0), True
        for tx in history:
            if date.fromisoformat(str(tx["effective"])) > day:
                break
            rate = D(tx["annual_premium"]["net"])  # type: ignore[index]
            if tx["kind"] == "cancel":
                charged = tx["reason"] == "non_payment"  # no_refund: the lapse stays charged
            elif tx["kind"] in ("reinstate", "issue"):
                charged = True
        if charged:
            total += rate / DAYS
    return total


@pytest.fixture(scope="module")
def shared_uow(tmp_path_factory: pytest.TempPathFactory) -> SqlUnitOfWork:
    from egide.db.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('money') / 'money.db'}"
    upgrade(url)
    return SqlUnitOfWork.from_url(url)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_the_premiums_of_a_term_add_up_to_what_the_insured_owes(
    ops: list[tuple[str, int, tuple[str, object], str]],
    shared_uow: SqlUnitOfWork,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    uow = shared_uow
    data = yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))
    q = quotes.save_quote(uow, OPERATOR, data, PRODUCT, "broker").quote_number
    number = str(contract(policies.bind_quote(uow, OPERATOR, q, "alice"))["policy_number"])
    day = START
    for kind, gap, (path, value), reason in ops:
        day += timedelta(days=gap)
        if day >= END:
            break
        try:
            if kind == "endorse":
                policies.endorse_policy(uow, OPERATOR, number, day, {path: value}, "alice")
            elif kind == "cancel":
                policies.cancel_policy(uow, OPERATOR, number, day, "alice", reason)
            else:
                policies.reinstate_policy(uow, OPERATOR, number, day, "alice")
        except (Conflict, InvalidInput):
            continue  # not allowed in this state (or no change): nothing was written
    history = contract(policies.get_policy(uow, OPERATOR, number))["transactions"]
    owed_net = owed_tax = D(0)
    for tx in history:
        change, term = tx["premium_change"], tx["term_premium"]
        for amount in (*change.values(), *term.values()):
            assert D(amount) == D(amount).quantize(CENT)
        assert D(change["net"]) + D(change["tax"]) == D(change["total"])
        owed_net += D(change["net"])
        owed_tax += D(change["tax"])
        assert (D(term["net"]), D(term["tax"])) == (owed_net, owed_tax)
        assert D(change["tax"]) == (D(change["net"]) * PRODUCT.tax_rate).quantize(
            CENT, ROUND_HALF_UP
        )
    assert owed_net >= 0
    event(" ".join(tx["kind"] for tx in history[1:]) or "issue only")
    exact = earned(history, PRODUCT.tax_rate)
    assert abs(owed_net - exact) <= D("0.005") * len(history) + D("1e-9"), (owed_net, exact)
