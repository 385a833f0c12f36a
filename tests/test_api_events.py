"""Webhooks and portfolio runs over HTTP: registration (the secret once, never listed), the roles
and tenants, runs queued with 202 and followed; and, with the server's in-process worker, a run
that completes on the local Dask cluster and whose portfolio_run.finished reaches a receiver
started by the test, signed."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from egide.api.app import create_app
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.settings import Settings
from tests.api_support import ALL_SCOPES, ApiWorld, application
from tests.api_support import api_world as api_world  # the fixture
from tests.fakes import OPERATOR
from tests.test_webhooks_delivery import Receiver

HOOK = {"url": "http://127.0.0.1:9/hook", "events": ["quote.referred", "policy.bound"]}


def test_a_broker_registers_a_webhook_and_sees_its_secret_once(api_world: ApiWorld) -> None:
    http, auth = api_world.http, api_world.auth("broker_a")
    made = http.post("/api/v1/webhooks", json=HOOK, headers=auth)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["events"] == HOOK["events"]
    assert made.headers["cache-control"] == "no-store"
    listed = http.get("/api/v1/webhooks", headers=auth).json()
    assert [w["id"] for w in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0] and listed["next_cursor"] is None
    # another tenant neither sees nor deletes it, and gets the same 404 as for a missing one
    other = api_world.auth("broker_b")
    assert http.get("/api/v1/webhooks", headers=other).json()["items"] == []
    foreign = http.delete(f"/api/v1/webhooks/{body['id']}", headers=other)
    missing = http.delete("/api/v1/webhooks/999999", headers=other)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["title"] == missing.json()["title"]
    assert http.delete(f"/api/v1/webhooks/{body['id']}", headers=auth).status_code == 204
    assert http.get("/api/v1/webhooks", headers=auth).json()["items"] == []


@pytest.mark.parametrize("role", ["underwriter", "claims_handler", "actuary"])
def test_the_insurers_staff_other_than_admins_may_not_register(
    api_world: ApiWorld, role: str
) -> None:
    answer = api_world.http.post("/api/v1/webhooks", json=HOOK, headers=api_world.auth(role))
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://x.example/", "events": ["policy.bound"]},
        {"url": "http://127.0.0.1/", "events": ["policy.eaten"]},
        {"url": "http://127.0.0.1/", "events": []},
        {"url": "http://127.0.0.1/", "events": ["policy.bound"], "secret": "mine"},
    ],
)
def test_a_bad_registration_is_a_422_problem_naming_the_field(
    api_world: ApiWorld, body: dict[str, object]
) -> None:
    answer = api_world.http.post("/api/v1/webhooks", json=body, headers=api_world.auth("manager"))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"]


def test_an_actuary_queues_a_run_and_follows_it(api_world: ApiWorld) -> None:
    http = api_world.http
    run = {"years": 100, "seed": 3, "as_of": "2027-06-30"}
    started = http.post("/api/v1/portfolio/runs", json=run, headers=api_world.auth("actuary"))
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] == "queued" and started.headers["location"].endswith(job["id"])
    shown = http.get(f"/api/v1/portfolio/runs/{job['id']}", headers=api_world.auth("underwriter"))
    assert shown.status_code == 200
    assert (shown.json()["status"], shown.json()["result"]) == ("queued", None)
    assert http.get(f"/api/v1/portfolio/runs/{job['id']}/ep.png", headers=api_world.auth("actuary")).status_code == 409  # fmt: skip
    for role in ("broker_a", "manager", "underwriter"):
        refused = http.post("/api/v1/portfolio/runs", json=run, headers=api_world.auth(role))
        assert refused.status_code == 403, role
    assert http.get(f"/api/v1/portfolio/runs/{job['id']}", headers=api_world.auth("broker_a")).status_code == 403  # fmt: skip
    assert http.get("/api/v1/portfolio/runs/JOB-X", headers=api_world.auth("actuary")).status_code == 404  # fmt: skip
    bad = http.post(
        "/api/v1/portfolio/runs", json={"years": 0, "seed": -1}, headers=api_world.auth("actuary")
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"years", "seed"}


def test_a_retried_start_with_the_same_key_queues_one_run(api_world: ApiWorld) -> None:
    headers = {**api_world.auth("actuary"), "Idempotency-Key": "run-1"}
    run = {"years": 100, "seed": 3}
    first = api_world.http.post("/api/v1/portfolio/runs", json=run, headers=headers)
    again = api_world.http.post("/api/v1/portfolio/runs", json=run, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiWorld]:
    """The app as `egide serve` makes it: the webhook worker and the job runner in-process."""
    monkeypatch.setenv("EGIDE_NOW", "2026-12-01T10:00:00+01:00")
    url = f"sqlite:///{tmp_path / 'served.db'}"
    app = create_app(Settings.with_environ(database_url=url), in_process_worker=True)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield ApiWorld(app=app, http=http, url=url)


def test_a_run_completes_on_the_local_cluster_and_its_event_reaches_the_insurers_receiver(
    served: ApiWorld, product: Product
) -> None:
    receiver = Receiver().start()
    try:
        q = quotes.save_quote(served.uow(), OPERATOR, application(), product)
        policies.bind_quote(served.uow(), OPERATOR, q.quote_number, start="2027-01-01")
        tokens = {}
        for role in ("actuary", "admin"):
            cid, secret = served.new_client(1, [role], ALL_SCOPES)
            tokens[role] = {"Authorization": f"Bearer {served.token(cid, secret).json()['access_token']}"}  # fmt: skip
        hook = served.http.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["portfolio_run.finished"]},
            headers=tokens["admin"],
        ).json()
        run = {"years": 300, "seed": 5, "as_of": "2027-06-30"}
        job = served.http.post("/api/v1/portfolio/runs", json=run, headers=tokens["actuary"])
        assert job.status_code == 202
        path = f"/api/v1/portfolio/runs/{job.json()['id']}"
        deadline = time.monotonic() + 120
        while (shown := served.http.get(path, headers=tokens["actuary"]).json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, "the run never finished"
            time.sleep(0.2)
        assert shown["status"] == "done", shown
        assert shown["progress"] == 1.0
        assert (shown["result"]["years"], shown["result"]["policies"]) == (300, 1)
        png = served.http.get(f"{path}/ep.png", headers=tokens["actuary"])
        assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
        archive = served.http.get(f"{path}/ord.zip", headers=tokens["actuary"])
        assert zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
        while not receiver.requests:
            assert time.monotonic() < deadline, "the event never arrived"
            time.sleep(0.2)
        [[payload]] = receiver.verified(hook["secret"]).values()
        assert payload["type"] == "portfolio_run.finished"
        assert payload["data"]["id"] == job.json()["id"]
        assert payload["data"]["run_id"] == shown["result"]["run_id"]
    finally:
        receiver.stop()


def test_the_server_fails_at_start_the_run_a_previous_process_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from egide.services.portfolio_jobs import INTERRUPTED, start_portfolio_run

    url = f"sqlite:///{tmp_path / 'restart.db'}"
    before = create_app(
        Settings.with_environ(database_url=url)
    )  # a server that queued runs, then died
    left = [start_portfolio_run(before.state.uow_factory(), OPERATOR, 100, s)["id"] for s in (1, 2)]
    with before.state.uow_factory() as uow:
        job = uow.jobs.get(left[1])
        assert job is not None
        job.status = "running"
        uow.commit()
    after = create_app(Settings.with_environ(database_url=url), in_process_worker=True)
    with TestClient(after):  # its startup hooks run
        pass
    with after.state.uow_factory() as uow:
        interrupted, queued = uow.jobs.get(left[1]), uow.jobs.get(left[0])
        assert interrupted is not None and queued is not None
        assert (interrupted.status, interrupted.error) == ("failed", INTERRUPTED)
        # the queued one was not interrupted: the new runner takes it (this empty book fails it
        # for its own reason, if the runner got to it before the server stopped)
        assert queued.error != INTERRUPTED


def test_over_http_each_brokerage_receives_only_its_clients_events(
    served: ApiWorld, product: Product
) -> None:
    from egide.services import accounts

    receivers = {name: Receiver().start() for name in ("a", "b")}
    try:
        operator = OPERATOR
        orgs = {
            "a": accounts.create_organisation(
                served.uow(),
                operator,
                "brokerage",
                "Courtage A",
                siren="732829320",
                orias="07012345",
            ).id,
            "b": accounts.create_organisation(
                served.uow(),
                operator,
                "brokerage",
                "Courtage B",
                siren="552100554",
                orias="07054321",
            ).id,
        }
        auth, secrets = {}, {}
        for name, org in orgs.items():
            cid, secret = served.new_client(org, ["broker"], ALL_SCOPES)
            token = served.token(cid, secret).json()["access_token"]
            auth[name] = {"Authorization": f"Bearer {token}"}
            made = served.http.post(
                "/api/v1/webhooks",
                json={"url": receivers[name].url, "events": ["quote.referred"]},
                headers=auth[name],
            )
            secrets[name] = made.json()["secret"]
        import yaml

        from tests.conftest import EXAMPLES

        clinic = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8"))
        saved = served.http.post("/api/v1/quotes", json=clinic, headers=auth["a"])
        assert saved.status_code == 201 and saved.json()["status"] == "referred"
        deadline = time.monotonic() + 60
        while not receivers["a"].requests:
            assert time.monotonic() < deadline, "A never received its client's event"
            time.sleep(0.2)
        [[payload]] = receivers["a"].verified(secrets["a"]).values()
        assert payload["data"]["quote_number"] == saved.json()["quote_number"]
        with served.uow() as uow:  # dispatched: B's endpoint got no delivery for it
            assert all(e.dispatched_at is not None for e in uow.webhooks.events())
            b_endpoint = uow.webhooks.endpoints(orgs["b"])[0].id
            assert uow.webhooks.deliveries_of(b_endpoint) == []
        assert receivers["b"].requests == []
    finally:
        for r in receivers.values():
            r.stop()


def test_in_production_the_server_refuses_to_start_without_a_server_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets as random_keys

    from egide.settings import UnsafeEnvironment

    monkeypatch.setenv("EGIDE_ENV", "production")
    monkeypatch.delenv("EGIDE_NOW", raising=False)
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    monkeypatch.setenv("EGIDE_AUDIT_KEY", random_keys.token_hex(32))
    monkeypatch.delenv("EGIDE_SECRET_KEY", raising=False)
    with pytest.raises(UnsafeEnvironment, match="EGIDE_SECRET_KEY"):
        create_app(Settings.with_environ(database_url=url), in_process_worker=False)
    monkeypatch.setenv("EGIDE_SECRET_KEY", random_keys.token_hex(32))
    assert create_app(Settings.with_environ(database_url=url)).state.settings.production
