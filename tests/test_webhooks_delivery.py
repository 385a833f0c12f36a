"""Webhooks end to end on a real database: a receiver started by the test on loopback gets every
event, each signed as Standard Webhooks says (checked with the `standardwebhooks` library),
distinct events never share an id, and a worker killed mid-delivery loses nothing: its lease
expires and another worker delivers (the receiver then sees that id twice and dedupes by it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from standardwebhooks import Webhook

from egide.db.tables_webhooks import WebhookDeliveryRow
from egide.db.uow import SqlUnitOfWork
from egide.domain.product import Product
from egide.services import quotes, webhooks
from egide.services.webhooks import Worker
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR

EGIDE = str(Path(sys.executable).parent / "egide")
ALL = ["quote.referred", "quote.declined", "policy.bound"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on loopback that keeps every request; `hang_first` holds the first request
    unanswered until `release` is set (a delivery in flight when its worker is killed)."""

    hang_first: bool = False
    requests: list[Received] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)  # the webhook-id of the request held
    first_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: no request was made
                    return
                with lock:
                    receiver.requests.append(Received(dict(self.headers.items()), body))
                    hang = receiver.hang_first and not receiver.first_arrived.is_set()
                    if hang:
                        receiver.hung.append(self.headers["webhook-id"])
                        receiver.first_arrived.set()
                if hang:
                    receiver.release.wait(60)
                    return  # no answer: the connection is dropped
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def verified(self, secret: str) -> dict[str, list[Any]]:
        """Every request's body by webhook-id, each checked against its signature."""
        hook = Webhook(secret)
        out: dict[str, list[Any]] = {}
        for r in self.requests:
            payload = hook.verify(r.body, r.headers)  # raises on a bad signature
            out.setdefault(r.headers["webhook-id"], []).append(payload)
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def referred_application() -> Any:
    return yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8"))


def with_events(uow: SqlUnitOfWork, product: Product, url: str, n: int) -> str:
    """The insurer's admin (the local operator) registers `url`; `n` referred quotes are saved.
    Returns the signing secret."""
    secret: str = webhooks.create_webhook(uow, OPERATOR, url, ALL)["secret"]
    for _ in range(n):
        quotes.save_quote(uow, OPERATOR, referred_application(), product)
    return secret


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    id: int
    status: str
    attempts: int
    lease_owner: str | None
    next_attempt_at: datetime


def outbox(uow: SqlUnitOfWork) -> list[Event]:
    with uow:
        return [Event(e.event_id, e.type, e.payload) for e in uow.webhooks.events(0, 1000)]


def deliveries(uow: SqlUnitOfWork) -> list[Delivery]:
    with uow:
        rows = uow.session.query(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)
        return [
            Delivery(d.id, d.status, d.attempts, d.lease_owner, d.next_attempt_at) for d in rows
        ]


def test_a_worker_delivers_every_event_signed_each_with_its_own_id(
    any_url: str, product: Product, receiver: Receiver
) -> None:
    uow = make_uow(any_url)
    secret = with_events(uow, product, receiver.url, 3)
    worker = Worker(make_uow(any_url))
    try:
        assert worker.drain() == 3  # due at once: the first attempt needs no waiting
    finally:
        worker.close()
    got = receiver.verified(secret)
    events = outbox(uow)
    assert set(got) == {e.event_id for e in events}  # every event, under its own id
    for e in events:
        [payload] = got[e.event_id]
        assert payload["type"] == "quote.referred"
        assert payload["data"] == e.payload
    assert {d.status for d in deliveries(uow)} == {"delivered"}
    headers = receiver.requests[0].headers
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300


def test_a_receiver_that_answers_with_an_error_is_retried_later(
    sqlite_url: str, product: Product
) -> None:
    uow = make_uow(sqlite_url)
    with_events(uow, product, "http://127.0.0.1:9/nobody-listens", 1)
    worker = Worker(make_uow(sqlite_url))
    try:
        assert worker.drain() == 1  # one attempt, then the retry is not due yet
    finally:
        worker.close()
    [d] = deliveries(uow)
    assert (d.status, d.attempts, d.lease_owner) == ("pending", 1, None)
    assert d.next_attempt_at > datetime.now(UTC)
    with uow:
        assert [a.status for a in uow.webhooks.attempts(d.id)] == ["network_error"]


@pytest.mark.postgres
def test_two_workers_claiming_at_once_never_take_the_same_delivery(
    pg_url: str, product: Product
) -> None:
    uow = make_uow(pg_url)
    with_events(uow, product, "http://127.0.0.1:9/", 30)
    webhooks.dispatch(uow, datetime.now(UTC))
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def take(name: str) -> None:
        mine = make_uow(pg_url)
        start.wait()
        got: list[int] = []
        for _ in range(10):
            got += [c.delivery_id for c in webhooks.claim(mine, name, datetime.now(UTC), limit=3)]
        claimed[name] = got

    threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for got in claimed.values() for i in got]
    assert len(every) == len(set(every)) == 30  # each delivery leased once, all leased


def worker_process(url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EGIDE_DATABASE_URL": url}
    return subprocess.Popen(
        [EGIDE, "worker", "--no-jobs", "--poll", "0.2", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition: Any, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.1)


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_loses_no_event(any_url: str, product: Product) -> None:
    receiver = Receiver(hang_first=True).start()
    try:
        uow = make_uow(any_url)
        secret = with_events(uow, product, receiver.url, 4)
        first = worker_process(any_url, "--lease-seconds", "2")
        try:
            receiver.first_arrived.wait(60)
            assert receiver.first_arrived.is_set(), "the first worker never delivered"
        finally:
            first.send_signal(signal.SIGKILL)  # mid-delivery: its request is still unanswered
            first.wait(30)
        receiver.release.set()
        [hung_id] = receiver.hung
        second = worker_process(any_url, "--lease-seconds", "2")
        try:
            wait_for(lambda: all(d.status == "delivered" for d in deliveries(uow)))
        finally:
            second.terminate()
            second.wait(30)
        got = receiver.verified(secret)  # every request signed
        events = {e.event_id: e for e in outbox(uow)}
        assert set(got) == set(events)  # nothing lost, nothing invented
        assert len(got[hung_id]) == 2  # the one in flight was sent again, under the same id
        for event_id, payloads in got.items():  # an id always carries the same event
            assert all(p["data"] == events[event_id].payload for p in payloads)
    finally:
        receiver.stop()


def test_the_worker_command_drains_and_exits_with_once(
    sqlite_url: str, product: Product, receiver: Receiver
) -> None:
    uow = make_uow(sqlite_url)
    secret = with_events(uow, product, receiver.url, 2)
    done = subprocess.run(
        [EGIDE, "worker", "--once", "--no-jobs"],
        env={**os.environ, "EGIDE_DATABASE_URL": sqlite_url},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert len(receiver.verified(secret)) == 2


@pytest.mark.postgres
def test_concurrent_scans_write_a_time_based_event_once(
    pg_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egide.services import policies
    from tests.api_support import application

    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    uow = make_uow(pg_url)
    q = quotes.save_quote(uow, OPERATOR, application(), product)
    policies.bind_quote(uow, OPERATOR, q.quote_number, start="2027-01-01")
    when = datetime.fromisoformat("2027-11-15T10:00:00+01:00")
    start = threading.Barrier(4)
    written: list[int] = []

    def scan() -> None:
        mine = make_uow(pg_url)
        start.wait()
        written.append(webhooks.scan_time_events(mine, when))

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(written) == 1
    assert [e.type for e in outbox(uow)] == ["policy.bound", "policy.renewal_due"]


def test_on_a_database_an_event_commits_and_rolls_back_with_its_change(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egide.services import policies
    from tests.api_support import application

    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    uow = make_uow(any_url)
    q = quotes.save_quote(uow, OPERATOR, application(), product)
    real = policies._append

    def append_then_die(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        uow.flush()  # the event is in the transaction, sent to the database
        raise KeyboardInterrupt  # the process is stopped before the commit

    monkeypatch.setattr(policies, "_append", append_then_die)
    with pytest.raises(KeyboardInterrupt):
        policies.bind_quote(uow, OPERATOR, q.quote_number, start="2027-01-01")
    assert outbox(uow) == []
    monkeypatch.setattr(policies, "_append", real)
    bound = policies.bind_quote(uow, OPERATOR, q.quote_number, start="2027-01-01")
    [event] = outbox(uow)
    assert (event.type, event.payload["policy_number"]) == ("policy.bound", bound.policy_number)


def test_the_worker_refuses_to_start_in_production_without_a_server_key(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets as random_keys

    from typer.testing import CliRunner

    from egide.cli.common import EXIT_ENVIRONMENT
    from egide.cli.main import app

    monkeypatch.setenv("EGIDE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("EGIDE_ENV", "production")
    monkeypatch.setenv("EGIDE_AUDIT_KEY", random_keys.token_hex(32))
    monkeypatch.delenv("EGIDE_SECRET_KEY", raising=False)
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == EXIT_ENVIRONMENT, result.output
    assert "EGIDE_SECRET_KEY" in result.output and "Traceback" not in result.output
