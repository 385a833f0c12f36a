"""Who may see and do what: organisations, roles, scopes, principals and the one rule `allowed`.

An installation has one insurer; brokerages and establishments are its tenants. An object (a
quote, a policy, a claim) belongs to an establishment, and the brokerage that submitted it is its
broker of record. Visibility comes from the organisation, permission from the roles:

- the insurer's staff see every object; their roles limit what they may do, not what they see;
- a brokerage's people see the objects whose broker of record is their brokerage, and those
  establishments;
- an establishment's people see the objects of their own establishment.

An API client acts with its roles limited by its scopes. `allowed` is pure: the services ask it
before they read or write, and translate a refusal: an object the principal may not see is
reported exactly as one that does not exist, an action its roles do not allow is "not allowed".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrgKind(StrEnum):
    INSURER = "insurer"  # one per installation
    BROKERAGE = "brokerage"
    ESTABLISHMENT = "establishment"


class Role(StrEnum):
    ESTABLISHMENT_MANAGER = "establishment_manager"
    BROKER = "broker"
    UNDERWRITER = "underwriter"
    CLAIMS_HANDLER = "claims_handler"
    ACTUARY = "actuary"
    ADMIN = "admin"


# The roles an organisation of each kind can give its people.
ROLES_OF_KIND: dict[OrgKind, frozenset[Role]] = {
    OrgKind.INSURER: frozenset({Role.UNDERWRITER, Role.CLAIMS_HANDLER, Role.ACTUARY, Role.ADMIN}),
    OrgKind.BROKERAGE: frozenset({Role.BROKER}),
    OrgKind.ESTABLISHMENT: frozenset({Role.ESTABLISHMENT_MANAGER}),
}


class Scope(StrEnum):
    QUOTES_READ = "quotes:read"
    QUOTES_WRITE = "quotes:write"
    POLICIES_READ = "policies:read"
    POLICIES_WRITE = "policies:write"
    CLAIMS_READ = "claims:read"
    CLAIMS_WRITE = "claims:write"
    PORTFOLIO_RUN = "portfolio:run"
    WEBHOOKS_MANAGE = "webhooks:manage"


class Kind(StrEnum):
    """What an action acts on."""

    QUOTE = "quote"
    POLICY = "policy"
    CLAIM = "claim"
    BOOK = "book"  # the book in force, a portfolio run
    ACCOUNTS = "accounts"  # organisations, users, API clients
    WEBHOOKS = "webhooks"


class Action(StrEnum):
    """Every action of every use case."""

    QUOTE_PRICE = "quote.price"  # price without saving: anyone
    QUOTE_SAVE = "quote.save"
    QUOTE_READ = "quote.read"  # show, list, documents
    QUOTE_REVIEW = "quote.review"  # approve or decline a referral
    POLICY_BIND = "policy.bind"
    POLICY_READ = "policy.read"  # show, list, documents
    POLICY_CHANGE = "policy.change"  # endorse, cancel, reinstate, renew
    CLAIM_DECLARE = "claim.declare"
    CLAIM_READ = "claim.read"  # show, list, clock, statement
    CLAIM_UPDATE = "claim.update"  # add costs, amend the declaration
    CLAIM_SETTLE = "claim.settle"  # pay, reopen
    BOOK_READ = "book.read"  # saved portfolio runs
    PORTFOLIO_RUN = "portfolio.run"
    ACCOUNTS_MANAGE = "accounts.manage"  # organisations, users, API clients, transfers
    AUDIT_VERIFY = "audit.verify"
    WEBHOOKS_MANAGE = "webhooks.manage"
    ACCOUNTS_INVITE = "accounts.invite"  # invite a person to an establishment's account


@dataclass(frozen=True)
class Rule:
    kind: Kind
    roles: frozenset[Role]  # any one of them allows the action
    scope: Scope | None  # what an API client needs; None: no API client may
    writes: bool


_EVERY_ROLE = frozenset(Role)
_M, _B, _U, _C, _A, _AD = (
    Role.ESTABLISHMENT_MANAGER,
    Role.BROKER,
    Role.UNDERWRITER,
    Role.CLAIMS_HANDLER,
    Role.ACTUARY,
    Role.ADMIN,
)

RULES: dict[Action, Rule] = {
    Action.QUOTE_PRICE: Rule(Kind.QUOTE, _EVERY_ROLE, Scope.QUOTES_WRITE, writes=False),
    Action.QUOTE_SAVE: Rule(Kind.QUOTE, frozenset({_M, _B, _U}), Scope.QUOTES_WRITE, writes=True),
    Action.QUOTE_READ: Rule(Kind.QUOTE, _EVERY_ROLE, Scope.QUOTES_READ, writes=False),
    Action.QUOTE_REVIEW: Rule(Kind.QUOTE, frozenset({_U}), Scope.QUOTES_WRITE, writes=True),
    Action.POLICY_BIND: Rule(Kind.POLICY, frozenset({_M, _B, _U}), Scope.POLICIES_WRITE, True),
    Action.POLICY_READ: Rule(Kind.POLICY, _EVERY_ROLE, Scope.POLICIES_READ, writes=False),
    Action.POLICY_CHANGE: Rule(Kind.POLICY, frozenset({_M, _B, _U}), Scope.POLICIES_WRITE, True),
    Action.CLAIM_DECLARE: Rule(Kind.CLAIM, frozenset({_M, _B, _C}), Scope.CLAIMS_WRITE, True),
    Action.CLAIM_READ: Rule(Kind.CLAIM, _EVERY_ROLE, Scope.CLAIMS_READ, writes=False),
    Action.CLAIM_UPDATE: Rule(Kind.CLAIM, frozenset({_M, _B, _C}), Scope.CLAIMS_WRITE, True),
    Action.CLAIM_SETTLE: Rule(Kind.CLAIM, frozenset({_C}), Scope.CLAIMS_WRITE, writes=True),
    Action.BOOK_READ: Rule(Kind.BOOK, frozenset({_U, _A}), Scope.PORTFOLIO_RUN, writes=False),
    Action.PORTFOLIO_RUN: Rule(Kind.BOOK, frozenset({_A}), Scope.PORTFOLIO_RUN, writes=True),
    Action.ACCOUNTS_MANAGE: Rule(Kind.ACCOUNTS, frozenset({_AD}), None, writes=True),
    Action.AUDIT_VERIFY: Rule(Kind.ACCOUNTS, frozenset({_AD}), None, writes=False),
    Action.ACCOUNTS_INVITE: Rule(Kind.ACCOUNTS, frozenset({_AD, _B, _M}), None, writes=True),
    Action.WEBHOOKS_MANAGE: Rule(
        Kind.WEBHOOKS, frozenset({_AD, _B, _M}), Scope.WEBHOOKS_MANAGE, writes=True
    ),
}


@dataclass(frozen=True)
class Principal:
    """Who acts: a user, an API client, or the local operator (a built-in user of the insurer
    holding every role, for the CLI on the server's own machine). `acting_as` is set when the
    local operator acts as a user (``--as EMAIL``), so history records both."""

    kind: str  # "user" | "client" | "operator"
    id: str
    organisation_id: int
    organisation_kind: OrgKind
    roles: frozenset[Role]
    scopes: frozenset[Scope] | None = None  # an API client's; None for people
    label: str = ""  # an email, a client id
    acting_as: str | None = None

    @property
    def is_insurer_staff(self) -> bool:
        return self.organisation_kind is OrgKind.INSURER

    def history_label(self) -> str:
        """How history records this principal."""
        if self.acting_as is not None:
            return f"local operator as {self.acting_as}"
        return self.label or self.id


def history_actor(principal: Principal, label: str | None = None) -> str:
    """Who acted, as history records it: the principal, and beside it the free-text label an
    operator gave (``--actor``), which names a person but proves nothing."""
    who = principal.history_label()
    label = (label or "").strip()
    return f"{who} ({label})" if label and label != who else who


def local_operator(insurer_id: int) -> Principal:
    return Principal(
        kind="operator",
        id="local-operator",
        organisation_id=insurer_id,
        organisation_kind=OrgKind.INSURER,
        roles=frozenset(Role),
        label="local operator",
    )


@dataclass(frozen=True)
class Resource:
    """What an action is on: the establishment that owns it and its broker of record (None for
    an object not yet created, or one of the whole book); for accounts, the organisation."""

    kind: Kind
    establishment_id: int | None = None
    broker_id: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str  # "ok" | "not_visible" | "role" | "scope"
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def visible(principal: Principal, resource: Resource) -> bool:
    """May the principal see this object at all (its tenant)?"""
    if principal.is_insurer_staff:
        return True
    if resource.kind in (Kind.BOOK, Kind.ACCOUNTS, Kind.WEBHOOKS):
        # not a tenant's object: the roles decide (the book and the accounts are the insurer's
        # staff's; a tenant's webhooks are scoped to its organisation by the service)
        return True
    if principal.organisation_kind is OrgKind.BROKERAGE:
        return resource.establishment_id is None or resource.broker_id == principal.organisation_id
    return resource.establishment_id in (None, principal.organisation_id)


def allowed(principal: Principal, action: Action, resource: Resource) -> Decision:
    """The one rule: visibility first (a foreign object is as good as missing), then the roles,
    then, for an API client, the scopes."""
    rule = RULES[action]
    if resource.kind is not rule.kind:
        raise ValueError(f"{action}: acts on a {rule.kind}, not a {resource.kind}")
    if not visible(principal, resource):
        return Decision(False, "not_visible", "does not exist")
    if not principal.roles & rule.roles:
        needed = " or ".join(sorted(r.value for r in rule.roles))
        return Decision(False, "role", f"{action} needs the role {needed}")
    if principal.kind == "client":
        if rule.scope is None:
            return Decision(False, "scope", f"{action} is not open to API clients")
        if principal.scopes is None or rule.scope not in principal.scopes:
            return Decision(False, "scope", f"{action} needs the scope {rule.scope}")
    return Decision(True, "ok", "allowed")
