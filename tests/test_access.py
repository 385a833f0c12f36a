"""The authorisation rule, held to a table written from the issue, not from the code: every action
× every role × an object of the principal's own tenant and of a foreign one."""

from __future__ import annotations

import pytest

from egide.domain.access import (
    ROLES_OF_KIND,
    RULES,
    Action,
    Kind,
    OrgKind,
    Principal,
    Resource,
    Role,
    Scope,
    allowed,
    local_operator,
)

M, B, U, C, A, AD = (
    Role.ESTABLISHMENT_MANAGER,
    Role.BROKER,
    Role.UNDERWRITER,
    Role.CLAIMS_HANDLER,
    Role.ACTUARY,
    Role.ADMIN,
)
EVERYONE = frozenset(Role)

# Who may take each action on an object they can see (the "Organisations and roles").
TABLE: dict[Action, frozenset[Role]] = {
    Action.QUOTE_PRICE: EVERYONE,
    Action.QUOTE_SAVE: frozenset({M, B, U}),
    Action.QUOTE_READ: EVERYONE,
    Action.QUOTE_REVIEW: frozenset({U}),  # a manager cannot approve its own referral
    Action.POLICY_BIND: frozenset({M, B, U}),
    Action.POLICY_READ: EVERYONE,
    Action.POLICY_CHANGE: frozenset({M, B, U}),  # an actuary cannot endorse
    Action.CLAIM_DECLARE: frozenset({M, B, C}),
    Action.CLAIM_READ: EVERYONE,
    Action.CLAIM_UPDATE: frozenset({M, B, C}),
    Action.CLAIM_SETTLE: frozenset({C}),  # an underwriter cannot settle
    Action.BOOK_READ: frozenset({U, A}),
    Action.PORTFOLIO_RUN: frozenset({A}),
    Action.ACCOUNTS_MANAGE: frozenset({AD}),
    Action.AUDIT_VERIFY: frozenset({AD}),
    Action.WEBHOOKS_MANAGE: frozenset({AD, B, M}),
    Action.ACCOUNTS_INVITE: frozenset({AD, B, M}),
}

INSURER, BROKERAGE, OTHER_BROKERAGE, ESTABLISHMENT, OTHER_ESTABLISHMENT = 1, 20, 21, 10, 11
ORG_OF_KIND = {
    OrgKind.INSURER: INSURER,
    OrgKind.BROKERAGE: BROKERAGE,
    OrgKind.ESTABLISHMENT: ESTABLISHMENT,
}


def person(role: Role) -> Principal:
    kind = next(k for k, roles in ROLES_OF_KIND.items() if role in roles)
    return Principal("user", f"u-{role}", ORG_OF_KIND[kind], kind, frozenset({role}), label=role)


def resource(action: Action, own: bool) -> Resource:
    kind = RULES[action].kind
    if kind in (Kind.QUOTE, Kind.POLICY, Kind.CLAIM):
        if own:
            return Resource(kind, establishment_id=ESTABLISHMENT, broker_id=BROKERAGE)
        return Resource(kind, establishment_id=OTHER_ESTABLISHMENT, broker_id=OTHER_BROKERAGE)
    return Resource(kind)


def test_the_table_names_every_action() -> None:
    assert set(TABLE) == set(Action) == set(RULES)


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("own", [True, False], ids=["own", "foreign"])
def test_each_action_for_each_role_on_own_and_foreign_objects(
    action: Action, role: Role, own: bool
) -> None:
    principal = person(role)
    decision = allowed(principal, action, resource(action, own))
    tenant_object = RULES[action].kind in (Kind.QUOTE, Kind.POLICY, Kind.CLAIM)
    if tenant_object and not own and not principal.is_insurer_staff:
        # another tenant's object is reported exactly like one that does not exist
        assert (decision.allowed, decision.code, decision.reason) == (
            False,
            "not_visible",
            "does not exist",
        )
    elif role in TABLE[action]:
        assert decision.allowed, decision
    else:
        assert (decision.allowed, decision.code) == (False, "role"), decision
        assert str(action) in decision.reason


def test_insurer_staff_see_every_tenant_and_their_roles_limit_only_what_they_do() -> None:
    foreign = Resource(Kind.CLAIM, establishment_id=OTHER_ESTABLISHMENT, broker_id=OTHER_BROKERAGE)
    underwriter = person(U)
    assert allowed(underwriter, Action.CLAIM_READ, foreign)
    assert allowed(underwriter, Action.CLAIM_SETTLE, foreign).code == "role"


def test_a_broker_sees_the_objects_of_its_clients_only_through_the_broker_of_record() -> None:
    broker = person(B)
    # the broker's own establishment id is irrelevant: what counts is who is broker of record
    mine = Resource(Kind.POLICY, establishment_id=OTHER_ESTABLISHMENT, broker_id=BROKERAGE)
    theirs = Resource(Kind.POLICY, establishment_id=ESTABLISHMENT, broker_id=OTHER_BROKERAGE)
    direct = Resource(Kind.POLICY, establishment_id=ESTABLISHMENT, broker_id=None)
    assert allowed(broker, Action.POLICY_READ, mine)
    assert allowed(broker, Action.POLICY_READ, theirs).code == "not_visible"
    assert allowed(broker, Action.POLICY_READ, direct).code == "not_visible"


def test_an_api_client_acts_with_its_roles_limited_by_its_scopes() -> None:
    client = Principal(
        "client",
        "egc_1",
        BROKERAGE,
        OrgKind.BROKERAGE,
        frozenset({B}),
        scopes=frozenset({Scope.QUOTES_READ, Scope.POLICIES_WRITE}),
    )
    own = resource(Action.QUOTE_READ, own=True)
    assert allowed(client, Action.QUOTE_READ, own)
    saving = allowed(client, Action.QUOTE_SAVE, own)
    assert (saving.code, saving.reason) == ("scope", "quote.save needs the scope quotes:write")
    assert allowed(client, Action.POLICY_BIND, resource(Action.POLICY_BIND, own=True))
    # a scope never adds what the roles do not give
    assert allowed(client, Action.CLAIM_SETTLE, resource(Action.CLAIM_SETTLE, True)).code == "role"
    admin_client = Principal(
        "client", "egc_2", INSURER, OrgKind.INSURER, frozenset({AD}), scopes=frozenset(Scope)
    )
    assert allowed(admin_client, Action.ACCOUNTS_MANAGE, Resource(Kind.ACCOUNTS)).code == "scope"


def test_the_local_operator_holds_every_role_of_the_insurer() -> None:
    operator = local_operator(INSURER)
    for action in Action:
        assert allowed(operator, action, resource(action, own=False)), action
    assert operator.history_label() == "local operator"


def test_an_action_on_the_wrong_kind_of_object_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="acts on a claim"):
        allowed(person(C), Action.CLAIM_SETTLE, Resource(Kind.POLICY))
