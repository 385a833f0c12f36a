"""Webhooks: the event types, who receives an event, which URLs may receive, and the retry rule.

An event is about one object (a quote, a policy, a claim, a portfolio run) and names its tenant:
the establishment it belongs to and its broker of record. An organisation's endpoints receive the
events of the objects its people may read (`egide.domain.access.visible`): the insurer every
event, a brokerage those whose broker of record it is, an establishment its own. A portfolio run
is the insurer's book: only the insurer's endpoints receive its events.

Delivery is at least once, with a stable id: each event has one ``webhook-id`` (its `event_id`)
for every attempt to every endpoint, and a receiver may see the same id twice (a worker that
died after sending but before recording the answer: its lease expires and another worker sends
again), so receivers dedupe by ``webhook-id``, as Standard Webhooks recommends.

Standard library only (this is the domain).
"""

from __future__ import annotations

import ipaddress
import random
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from egide.domain.access import OrgKind
from egide.domain.errors import FieldError, InvalidInput


class EventType(StrEnum):
    QUOTE_REFERRED = "quote.referred"
    QUOTE_APPROVED = "quote.approved"
    QUOTE_DECLINED = "quote.declined"
    POLICY_BOUND = "policy.bound"
    POLICY_ENDORSED = "policy.endorsed"
    POLICY_CANCELLED = "policy.cancelled"
    POLICY_RENEWAL_DUE = "policy.renewal_due"
    CLAIM_DECLARED = "claim.declared"
    CLAIM_SETTLED = "claim.settled"
    CLAIM_DEADLINE_APPROACHING = "claim.deadline_approaching"
    PORTFOLIO_RUN_FINISHED = "portfolio_run.finished"


# policy.renewal_due fires once per term, this long before the term ends: two months leave a
# broker the time to collect the updated answers and the insurer to re-underwrite (an assumption:
# French practice sends renewal notices one to two months ahead; the legal notice for the insured
# to terminate is two months, art. L113-12 Code des assurances).
RENEWAL_HORIZON = timedelta(days=60)
# claim.deadline_approaching fires once per legal deadline of the claim's clock (those with a due
# hour: CNIL 72 h, complaint 72 h, notice to the insurer) that is not yet met, this long before
# it is due. A deadline already past when the scan first sees it is overdue, not approaching: no
# event (the claim's clock shows it).
DEADLINE_HORIZON = timedelta(hours=24)

# Retries: attempt n (1-based) that fails waits BACKOFF_BASE * BACKOFF_FACTOR ** (n - 1), at most
# BACKOFF_CAP, with jitter (a random 50-100 % of it, so endpoints recovering from an outage are not
# hit by every worker at once), before the next; after MAX_ATTEMPTS the delivery is given up.
# With these figures: about 5 s, 20 s, 80 s, 5 min, 21 min, 1 h 25, 5 h 41 -> ~7.5 h in all.
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_FACTOR = 4
BACKOFF_CAP = timedelta(hours=6)
# An endpoint whose last DISABLE_AFTER attempts all failed (whatever the events) is disabled:
# its pending deliveries are given up and it receives nothing until registered again.
DISABLE_AFTER = 20

MAX_URL_LENGTH = 2000
MAX_ENDPOINTS_PER_ORGANISATION = 20


def backoff(attempt: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the failed attempt number `attempt` (1-based)."""
    if attempt < 1:
        raise ValueError("attempt: 1 or more")
    factor: int = BACKOFF_FACTOR ** min(attempt - 1, 20)  # past the cap long before: no overflow
    plain: timedelta = min(BACKOFF_BASE * factor, BACKOFF_CAP)
    jitter: float = (rng or random).uniform(0.5, 1.0)
    return plain * jitter


def receives(
    org_kind: OrgKind, org_id: int, establishment_id: int | None, broker_id: int | None
) -> bool:
    """Does the organisation receive an event about an object of this tenant? (None, None: the
    insurer's own object, a portfolio run.) The tenant rule of `egide.domain.access.visible`."""
    if org_kind is OrgKind.INSURER:
        return True
    if establishment_id is None:
        return False
    if org_kind is OrgKind.BROKERAGE:
        return broker_id == org_id
    return establishment_id == org_id


def parse_event_types(values: object) -> tuple[EventType, ...]:
    """The event types asked for: a non-empty list of known types, each once."""
    if not isinstance(values, list | tuple) or not values:
        raise InvalidInput([FieldError("events", "required", "give at least one event type")])
    known = {e.value for e in EventType}
    errors = [
        FieldError(f"events[{i}]", "enum", f"unknown event type; one of {', '.join(sorted(known))}")
        for i, v in enumerate(values)
        if not isinstance(v, str) or v not in known
    ]
    if errors:
        raise InvalidInput(errors)
    return tuple(dict.fromkeys(EventType(v) for v in values))


def parse_url(url: object, production: bool) -> str:
    """The endpoint's URL, checked for its form: http(s), a host, no credentials; in production,
    https only (the address is checked apart, `check_address`, at registration and at each
    delivery)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput([FieldError("url", "required", "give the URL that receives events")])
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(
            [FieldError("url", "max_length", f"at most {MAX_URL_LENGTH} characters")]
        )
    try:
        parts = urlsplit(url)
        _ = parts.port  # a malformed port raises here
    except ValueError:
        raise InvalidInput([FieldError("url", "url", "not a valid URL")]) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput([FieldError("url", "url", "an http(s) URL with a host")])
    if parts.username is not None or parts.password is not None:
        raise InvalidInput([FieldError("url", "no_credentials", "no user or password in the URL")])
    if production and parts.scheme != "https":
        raise InvalidInput([FieldError("url", "https", "only https URLs in production")])
    return url


def public_address(address: str) -> bool:
    """Is this IP address on the public internet (not private, loopback, link-local, reserved,
    multicast, shared, unspecified, documentation...)? An IPv4 address mapped into IPv6 is judged
    as the IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_addresses(host: str, addresses: list[str]) -> None:
    """Refuse a host that resolves to no address or to any non-public one (a host with one
    public and one private address could be steered to the private one)."""
    if not addresses:
        raise InvalidInput([FieldError("url", "resolvable", f"{host} does not resolve")])
    for address in addresses:
        if not public_address(address):
            raise InvalidInput(
                [
                    FieldError(
                        "url",
                        "public_address",
                        f"{host} resolves to {address}, not a public internet address",
                    )
                ]
            )
