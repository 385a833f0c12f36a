"""`egide serve` end to end, as the README shows it: a real uvicorn process on loopback, a token
by client credentials, a quote saved with an Idempotency-Key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from egide.db.uow import SqlUnitOfWork
from egide.domain.access import local_operator
from egide.services import accounts
from tests.conftest import EXAMPLES


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
def test_egide_serve_issues_a_token_and_saves_a_quote_as_the_readme_shows(
    sqlite_url: str, tmp_path: Path
) -> None:
    operator = local_operator(1)
    uow = SqlUnitOfWork.from_url(sqlite_url)
    brokerage = accounts.create_organisation(
        uow, operator, "brokerage", "Courtage Santé Conseil", siren="732829320", orias="07012345"
    )
    client, secret = accounts.create_client(
        uow, operator, brokerage.id, ["broker"], ["quotes:write", "policies:read"]
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGIDE_")}
    env.update(EGIDE_DATABASE_URL=sqlite_url, XDG_DATA_HOME=str(tmp_path))
    egide = Path(sys.executable).parent / "egide"
    server = subprocess.Popen(
        [str(egide), "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # readiness: up to a minute on a busy machine
            try:
                if httpx.get(f"{base}/api/v1/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("egide serve did not answer")
        token = httpx.post(
            f"{base}/api/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client.client_id,
                "client_secret": secret,
                "scope": "quotes:write",
            },
        )
        assert token.status_code == 200, token.text
        assert token.json()["scope"] == "quotes:write"
        body = json.dumps(yaml.safe_load((EXAMPLES / "pharmacie.yaml").read_text("utf-8")))
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        quote = httpx.post(f"{base}/api/v1/quotes", content=body, headers=headers)
        assert quote.status_code == 201, quote.text
        again = httpx.post(f"{base}/api/v1/quotes", content=body, headers=headers)
        assert again.json()["quote_number"] == quote.json()["quote_number"]
        assert quote.headers["x-content-type-options"] == "nosniff"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    access = [json.loads(line) for line in err.splitlines() if line.startswith('{"event"')]
    assert [(a["method"], a["path"], a["status"]) for a in access][-3:] == [
        ("POST", "/api/v1/oauth/token", 200),
        ("POST", "/api/v1/quotes", 201),
        ("POST", "/api/v1/quotes", 201),
    ]
    assert secret not in err and token.json()["access_token"] not in err
