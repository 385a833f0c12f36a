"""A policy's whole life on SQLite and on PostgreSQL: the same migrations, the same results."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
import yaml

from egide.db.engine import make_engine
from egide.db.migrate import is_current
from egide.domain.errors import Conflict
from egide.domain.policy import PARIS
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.audit import verify_chain
from egide.services.results import contract
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR


def test_the_migrations_bring_both_backends_to_the_policy_schema(any_url: str) -> None:
    engine = make_engine(any_url)
    assert is_current(engine, any_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"policies", "policy_transactions", "idempotency_keys"} <= tables


def test_a_policy_lives_bind_endorse_cancel_reinstate_renew_on_both_backends(
    any_url: str, product: Product, frozen_now: str
) -> None:
    uow = make_uow(any_url)
    data = yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text(encoding="utf-8"))
    q = quotes.save_quote(uow, OPERATOR, data, product, "broker").quote_number
    bound = contract(policies.bind_quote(uow, OPERATOR, q, "alice", idempotency_key="bind-1"))
    number = bound["policy_number"]
    assert (
        contract(policies.bind_quote(uow, OPERATOR, q, "alice", idempotency_key="bind-1")) == bound
    )
    e = contract(
        policies.endorse_policy(uow, OPERATOR, number, "2027-02-01", {"security.edr": True}, "bob")
    )
    c = contract(
        policies.cancel_policy(uow, OPERATOR, number, "2027-05-01", "carol", "non_payment")
    )
    r = contract(policies.reinstate_policy(uow, OPERATOR, number, "2027-05-10", "carol"))
    n = contract(policies.renew_policy(uow, OPERATOR, number, product, "alice"))
    with pytest.raises(Conflict):
        policies.cancel_policy(
            uow, OPERATOR, number, "2027-06-01", "carol", idempotency_key="bind-1"
        )

    shown = contract(policies.get_policy(uow, OPERATOR, number, datetime(2027, 5, 5, tzinfo=PARIS)))
    assert shown["status"] == "cancelled"
    kinds = [(t["kind"], t["actor"]) for t in shown["transactions"]]
    assert kinds == [  # the principal, with the --actor label beside it
        ("issue", "local operator (alice)"),
        ("endorse", "local operator (bob)"),
        ("cancel", "local operator (carol)"),
        ("reinstate", "local operator (carol)"),
        ("renew", "local operator (alice)"),
    ]
    term1 = Decimal(bound["premium"]["total"]) + sum(
        Decimal(x["premium_change"]["total"]) for x in (e, c, r)
    )
    assert Decimal(shown["transactions"][3]["term_premium"]["total"]) == term1
    assert shown["transactions"][4]["term_premium"] == n["premium_change"]
    with uow:
        cover = policies.cover_in_force(uow, number, datetime(2027, 12, 1, tzinfo=PARIS))
        assert cover.status == "in_force" and cover.period_end == datetime(
            2028, 12, 1, tzinfo=PARIS
        )
        assert cover.application.security.edr is True
    assert verify_chain(uow).clean
