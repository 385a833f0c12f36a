"""The quote page's server time: how long `/tarif/prix` (the page's answer to a change of limit
or deductible) takes in-process, beside the `price_quote` use case alone, in the same run.

Issue 13's goal: under 100 ms of server time for a change of limit. Run:

    .venv/bin/python benchmarks/web_quote.py --runs 200

It prints p50 / p90 / p99 in milliseconds for the page (the form read, the pricing, the French
rendering of the result) and for the use case alone, on a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {at(0.5):7.1f} ms   p90 {at(0.9):7.1f} ms   p99 {at(0.99):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    os.environ["XDG_DATA_HOME"] = str(folder)
    os.environ["EGIDE_DATABASE_URL"] = f"sqlite:///{folder / 'egide.db'}"

    from fastapi.testclient import TestClient

    from egide.api.app import create_app
    from egide.domain.product import load_product
    from egide.services.quotes import price_quote
    from egide.web.forms import form_values

    product = load_product()
    data = yaml.safe_load((REPO / "examples" / "cabinet-medical.yaml").read_text())
    client = TestClient(create_app())
    page = client.get("/tarif").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    form = {**form_values(data), "csrf_token": found.group(1)}
    limits = ["100000", "250000", "500000", "1000000"]

    page_times, service_times = [], []
    for i in range(args.runs):
        form["cover.limit"] = limits[i % len(limits)]
        start = time.perf_counter()
        answer = client.post("/tarif/prix", data=form)
        page_times.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text[:500]
        data["cover"]["limit"] = int(limits[i % len(limits)])
        start = time.perf_counter()
        price_quote(data, product)
        service_times.append(time.perf_counter() - start)
    print(f"runs: {args.runs} (limits {', '.join(limits)})")
    print(f"/tarif/prix (page, in-process): {percentiles(page_times)}")
    print(f"price_quote (use case alone):   {percentiles(service_times)}")
    print(
        f"page overhead at the median: {statistics.median(page_times) * 1000 - statistics.median(service_times) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
