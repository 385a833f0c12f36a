"""Load on the REST API: N concurrent clients against a real server on loopback, beside the
in-process service time of the same work in the same run. Prints figures, asserts nothing
(speed is not tested).

    python benchmarks/api_load.py [--clients 16] [--seconds 10] [--max-requests 20000]
                                  [--workers 1]

What it does, bounded in time and in count:

1. makes a temporary SQLite database, an establishment's broker (a brokerage) and an API client
   of it with the scope ``quotes:write``;
2. starts ``uvicorn`` in a subprocess on 127.0.0.1 and a free port (never another address),
   with that database, and waits for ``/api/v1/openapi.json``;
3. obtains a bearer token (OAuth2 client credentials), then, for each phase, drives the server
   with N concurrent clients (httpx, one connection each) for at most ``--seconds`` seconds and
   ``--max-requests`` requests: ``POST /api/v1/quotes?dry_run=true`` (priced, not saved), then
   ``POST /api/v1/quotes`` (priced and saved);
4. times ``price_quote`` and ``save_quote`` in this process on another database of the same
   kind (the service time, without HTTP);
5. stops the server and removes the temporary folder.

Goal on the project's 2-core machine: at least 300 priced quotes per second with p99 under
50 ms at 16 clients, and 100 saved quotes per second on SQLite. The load generator shares the
machine with the server, so the figures are those of both together.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = ROOT / "examples" / "cabinet-medical.yaml"
HOST = "127.0.0.1"  # loopback only: the benchmark never sends traffic elsewhere
SERVER = """
import sys, uvicorn
from egide.api.app import create_app
from egide.settings import Settings
uvicorn.run(
    create_app(Settings()), host=sys.argv[1], port=int(sys.argv[2]),
    log_level="warning", access_log=False,
)
"""
SERVER_WORKERS = """
import sys, uvicorn
uvicorn.run(
    "egide.api.app:create_app", factory=True, host=sys.argv[1], port=int(sys.argv[2]),
    workers=int(sys.argv[3]), log_level="warning", access_log=False,
)
"""


@dataclass
class Figures:
    name: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies)
        if not lat:
            return f"{self.name:<34} no successful request ({self.errors} errors)"
        p50 = statistics.median(lat) * 1e3
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
        rate = self.count / self.seconds if self.seconds else 0.0
        return (
            f"{self.name:<34} {rate:>8.1f}/s  p50 {p50:>7.2f} ms  p99 {p99:>7.2f} ms  "
            f"n={self.count} errors={self.errors}"
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def prepare_database(url: str) -> tuple[str, str]:
    """Migrate, then create a brokerage and an API client of it (quotes:write): its id, secret."""
    from egide.db.migrate import upgrade
    from egide.db.uow import SqlUnitOfWork
    from egide.services import accounts

    upgrade(url)
    uow = SqlUnitOfWork.from_url(url)
    operator = accounts.acting_principal(uow, None)
    org = accounts.create_organisation(
        uow, operator, "brokerage", "Courtage Bench", siren="732829320", orias="07012345"
    )
    client, secret = accounts.create_client(uow, operator, org.id, ["broker"], ["quotes:write"])
    return client.client_id, secret


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    if workers > 1:
        args = [sys.executable, "-c", SERVER_WORKERS, HOST, str(port), str(workers)]
    else:
        args = [sys.executable, "-c", SERVER, HOST, str(port)]
    return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL)


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s")


def token(base: str, client_id: str, secret: str) -> str:
    r = httpx.post(
        f"{base}/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=10,
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


async def drive(
    base: str,
    name: str,
    clients: int,
    seconds: float,
    max_requests: int,
    request: Callable[[httpx.AsyncClient, int], Any],
    ok: int,
) -> Figures:
    """`clients` tasks, each with its own connection, until the time or the count is spent."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    stop_at = time.perf_counter() + seconds

    async def one_client() -> None:
        nonlocal errors, sent
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            while time.perf_counter() < stop_at and sent < max_requests:
                i = sent
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await request(http, i)
                except httpx.TransportError:
                    errors += 1
                    continue
                elapsed = time.perf_counter() - t0
                if r.status_code == ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return Figures(name, len(latencies), errors, time.perf_counter() - t0, latencies)


def in_process(data: dict[str, Any], runs: int, url: str) -> list[Figures]:
    """The services alone, sequentially: `price_quote` and `save_quote` (on its own database)."""
    from egide.db.uow import SqlUnitOfWork
    from egide.domain.product import load_product
    from egide.services import quotes, tokens

    product = load_product()
    uow = SqlUnitOfWork.from_url(url)
    client_id, secret = prepare_database(url)  # the same kind of principal as over HTTP
    broker = tokens.issue_client_token(uow, client_id, secret, None, 60).principal
    out = []
    for name, work in (
        ("in-process price_quote", lambda: quotes.price_quote(data, product)),
        ("in-process save_quote", lambda: quotes.save_quote(uow, broker, data, product)),
    ):
        work()  # warm-up
        times = []
        t_all = time.perf_counter()
        for _ in range(runs):
            t0 = time.perf_counter()
            work()
            times.append(time.perf_counter() - t0)
        out.append(Figures(name, runs, 0, time.perf_counter() - t_all, times))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase, at most 120")
    parser.add_argument("--max-requests", type=int, default=20_000, help="per phase")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--runs", type=int, default=300, help="in-process repeats")
    args = parser.parse_args()
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 120:
        parser.error("--clients 1..256, --seconds up to 120")
    if not 1 <= args.workers <= 8 or not 1 <= args.max_requests <= 1_000_000:
        parser.error("--workers 1..8, --max-requests 1..1000000")

    data = yaml.safe_load(APPLICATION.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="egide-api-load-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'api.db'}"
        client_id, secret = prepare_database(url)
        env = {
            **os.environ,
            "EGIDE_DATABASE_URL": url,
            "XDG_DATA_HOME": tmp,  # the development audit key goes there, not in the user's home
            "EGIDE_ENV": "development",
        }
        env.pop("EGIDE_NOW", None)
        os.environ["XDG_DATA_HOME"] = tmp  # the same audit key for this process's writes
        port = free_port()
        base = f"http://{HOST}:{port}"
        server = start_server(env, port, args.workers)
        try:
            wait_ready(base, server)
            headers = {"Authorization": f"Bearer {token(base, client_id, secret)}"}

            async def priced(http: httpx.AsyncClient, i: int) -> httpx.Response:
                return await http.post(
                    "/api/v1/quotes", params={"dry_run": "true"}, json=data, headers=headers
                )

            async def saved(http: httpx.AsyncClient, i: int) -> httpx.Response:
                return await http.post("/api/v1/quotes", json=data, headers=headers)

            print(
                f"API load: {args.clients} clients, {args.workers} uvicorn worker(s), "
                f"at most {args.seconds:.0f} s and {args.max_requests} requests per phase, "
                f"SQLite, {os.cpu_count()} cores"
            )
            for name, request, ok, clients in (
                # one client first: the latency of a request alone, HTTP and service together
                ("POST ...?dry_run=true, 1 client", priced, 200, 1),
                (f"POST ...?dry_run=true, {args.clients} clients", priced, 200, args.clients),
                (f"POST /api/v1/quotes, {args.clients} clients", saved, 201, args.clients),
            ):
                # a short warm-up (imports, first pricing), not counted
                asyncio.run(drive(base, "warm-up", 2, 1.0, 20, request, ok))
                figures = asyncio.run(
                    drive(base, name, clients, args.seconds, args.max_requests, request, ok)
                )
                print(figures.line())
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        local_url = f"sqlite:///{Path(tmp) / 'local.db'}"
        for figures in in_process(data, args.runs, local_url):
            print(figures.line())


if __name__ == "__main__":
    main()
