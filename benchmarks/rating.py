"""Time of one quote's pricing (`egide.domain.rating.price`) under products 2026.1 (risk model v1)
and 2026.2 (the incident model, v2), on the five worked examples: the median over N repeats
(default 200) after a warm-up, in milliseconds; the goal is under 5 ms a quote. Prints figures,
asserts nothing (speed is not tested).

    python benchmarks/rating.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from egide.domain.application import parse_application
from egide.domain.product import load_product
from egide.domain.rating import price

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ROOT / "src" / "egide" / "products"
WORKED = ["cabinet-medical", "pharmacie", "laboratoire", "clinique-120-lits", "chu-1500-lits"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    print(f"{'example':<20} {'v1 ms':>8} {'v2 ms':>8}")
    for name in WORKED:
        data = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text(encoding="utf-8"))
        cells = []
        for file in ("cyber-sante-v1.toml", "cyber-sante-v2.toml"):
            product = load_product(PRODUCTS / file)
            app = parse_application(data, product)
            price(app, product)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                price(app, product)
                times.append(time.perf_counter() - t0)
            cells.append(statistics.median(times) * 1e3)
        print(f"{name:<20} {cells[0]:>8.3f} {cells[1]:>8.3f}")


if __name__ == "__main__":
    main()
