"""The demo installation behind `egide demo`: organisations, accounts and a little business to
look at, seeded idempotently (a second run adds nothing and prints the same accounts).

An insurer with an underwriter, a claims handler, an actuary and an administrator; a brokerage
with two brokers; three establishments quoted by the brokers (a medical practice with its
manager's account and a pharmacy, both bound from today; a clinic referred to the underwriter);
a claim in progress on the practice's policy, declared an hour after it was discovered, its
legal deadlines running. The passwords are the demo's, printed for whoever runs it: refused
under ``EGIDE_ENV=production`` (`UnsafeEnvironment`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

import yaml

from egide.clock import now as clock_now
from egide.domain.access import OrgKind, local_operator
from egide.domain.policy import midnight, paris_date
from egide.domain.product import Product
from egide.services import accounts
from egide.services.ports import UnitOfWork
from egide.settings import UnsafeEnvironment, is_production

# A demo password, the same for every demo account: printed by `egide demo`, never used in
# production (refused there).
DEMO_PASSWORD = "demo-egide-2026"
BROKERAGE = ("Courtage Santé Conseil", "732829320", "07012345")
STAFF = (
    ("souscripteur@egide.example", ["underwriter"]),
    ("sinistres@egide.example", ["claims_handler"]),
    ("actuaire@egide.example", ["actuary"]),
    ("admin@egide.example", ["admin"]),
)
BROKERS = ("claire@courtage-sante.example", "paul@courtage-sante.example")
MANAGER = "dr.martin@cabinet-martin.example"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    roles: tuple[str, ...]
    organisation: str

    def public(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "password": self.password,
            "roles": list(self.roles),
            "organisation": self.organisation,
        }


def _example(name: str) -> dict[str, Any]:
    text = resources.files("egide.data").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _user(uow: UnitOfWork, op: Any, org_id: int, email: str, roles: list[str]) -> None:
    with uow:
        exists = uow.accounts.user_by_email(email) is not None
    if not exists:
        accounts.create_user(uow, op, org_id, email, DEMO_PASSWORD, roles)


def seed_demo(uow: UnitOfWork, product: Product) -> list[DemoAccount]:
    """Seed the demo installation (idempotent) and return its accounts."""
    from egide.services.claims import declare_claim
    from egide.services.policies import bind_quote
    from egide.services.quotes import save_quote

    if is_production():
        raise UnsafeEnvironment(
            "egide demo prints its accounts' passwords: it is refused when EGIDE_ENV=production "
            "[demo_in_production]"
        )
    with uow:
        insurer = uow.accounts.insurer()
        brokerage = next(
            (
                o
                for o in uow.accounts.organisations(0, 1000, kind=OrgKind.BROKERAGE)
                if o.siren == BROKERAGE[1]
            ),
            None,
        )
    op = local_operator(insurer.id)
    if brokerage is None:
        name, siren, orias = BROKERAGE
        brokerage = accounts.create_organisation(
            uow, op, "brokerage", name, siren=siren, orias=orias
        )
    for email, roles in STAFF:
        _user(uow, op, insurer.id, email, roles)
    for email in BROKERS:
        _user(uow, op, brokerage.id, email, ["broker"])

    practice = _example("demo-cabinet.yaml")
    with uow:
        clinic_org = uow.accounts.organisation_by_siret(practice["establishment"]["siret"])
    if clinic_org is None:  # the business, once: the practice's organisation is its marker
        broker = accounts.acting_principal(uow, BROKERS[0])
        moment = clock_now()
        today = paris_date(moment).isoformat()
        quote = save_quote(uow, broker, practice, product, "demo")
        policy = bind_quote(uow, broker, quote.quote_number, start=today)
        pharmacy = save_quote(uow, broker, _example("demo-pharmacie.yaml"), product, "demo")
        bind_quote(uow, broker, pharmacy.quote_number, start=today)
        other = accounts.acting_principal(uow, BROKERS[1])
        save_quote(uow, other, _example("demo-clinique.yaml"), product, "demo")  # referred
        started = max(
            midnight(paris_date(moment)) + timedelta(minutes=1), moment - timedelta(hours=3)
        )
        discovered = max(started, moment - timedelta(hours=1))
        declare_claim(
            uow,
            broker,
            policy.policy_number,
            {
                "incident": {
                    "type": "ransomware",
                    "started_at": started.isoformat(),
                    "discovered_at": discovered.isoformat(),
                    "attack": True,
                },
                "costs": [
                    {"category": "it_forensics", "amount": 6500, "estimated": True},
                    {"category": "data_restoration", "amount": 4200, "estimated": True},
                ],
            },
            "demo",
        )
        with uow:
            clinic_org = uow.accounts.organisation_by_siret(practice["establishment"]["siret"])
    assert clinic_org is not None
    _user(uow, op, clinic_org.id, MANAGER, ["establishment_manager"])

    with uow:
        names = {o.id: o.name for o in uow.accounts.organisations(0, 1000)}
        found = [uow.accounts.user_by_email(e) for e, _ in STAFF]
        found += [uow.accounts.user_by_email(e) for e in (*BROKERS, MANAGER)]
    return [
        DemoAccount(
            u.email,
            DEMO_PASSWORD,
            tuple(sorted(r.value for r in u.roles)),
            names[u.organisation_id],
        )
        for u in found
        if u is not None
    ]
