"""Failed token requests are limited per client id and per address, with the `limits` library.

By default 10 failed attempts per client id per minute and 30 per address per minute
(``EGIDE_TOKEN_RATE_PER_CLIENT``, ``EGIDE_TOKEN_RATE_PER_ADDRESS``); past either, the token
endpoint answers 429 with ``Retry-After`` (seconds until the window lets one more through),
before it looks at the credentials. Successful requests are not counted.

Counts live in Redis when ``EGIDE_REDIS_URL`` is set, so that every worker process shares them;
otherwise in this process's memory (each worker then counts on its own: say so in the docs of a
multi-worker deployment). The moving-window strategy counts exactly the attempts of the last
minute (no burst at a window's edge).

The address is the TCP peer's. ``X-Forwarded-For`` is NOT believed by default: anyone can send
it, and believing it would let an attacker pick a fresh address for every attempt. Only when
the peer is one of ``EGIDE_TRUSTED_PROXIES`` is the header read, from the right, skipping the
trusted proxies' own addresses: the first address no trusted proxy vouches for is the client's.
"""

from __future__ import annotations

import ipaddress
import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from egide.settings import Settings, UnsafeEnvironment


def _rate(text: str, variable: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError:
        raise UnsafeEnvironment(
            f"{variable}: {text!r} is not a rate such as '10/minute' [rate_format]"
        ) from None


class TokenRateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.per_client = _rate(settings.token_rate_per_client, "EGIDE_TOKEN_RATE_PER_CLIENT")
        self.per_address = _rate(settings.token_rate_per_address, "EGIDE_TOKEN_RATE_PER_ADDRESS")
        storage: Storage = MemoryStorage()
        if settings.redis_url is not None and settings.redis_url.get_secret_value().strip():
            found = storage_from_string(settings.redis_url.get_secret_value().strip())
            if not isinstance(found, Storage):  # an async storage (async+redis://): not ours
                raise UnsafeEnvironment("EGIDE_REDIS_URL must be a redis:// URL [redis_url]")
            storage = found
        self.limiter = MovingWindowRateLimiter(storage)
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxy_list]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def address(self, request: Request) -> str:
        """The client's address (see the module doc on X-Forwarded-For)."""
        peer = request.client.host if request.client else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not self._is_trusted(hop):
                return hop
        return peer

    def _keys(self, client_id: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        keys = [(self.per_address, "token-address", address)]
        if client_id:
            keys.append((self.per_client, "token-client", client_id[:100]))
        return keys

    def retry_after(self, client_id: str, address: str) -> int | None:
        """Seconds to wait when a limit is exhausted, None when an attempt may go ahead."""
        waits = []
        for item, namespace, key in self._keys(client_id, address):
            if not self.limiter.test(item, namespace, key):
                reset = self.limiter.get_window_stats(item, namespace, key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    def failed(self, client_id: str, address: str) -> None:
        """Count a failed attempt against the client id and the address."""
        for item, namespace, key in self._keys(client_id, address):
            self.limiter.hit(item, namespace, key)
