"""The systemic AAL of a set of policies alone and inside a bigger book, v1 against v2.

Generates a book (default 20 000 policies), takes its hospitals, and simulates their systemic
events alone and inside the whole book (independent claims switched off, so every euro is
systemic), with systemic-events v1 (vendors and hosts drawn by their share of the book) and v2
(drawn by their market in France, docs/systemic.md). Prints, for each, the hospitals' systemic
AAL with its standard error, the ratio inside / alone, and the sum of the hospitals' v2 systemic
loads from rating (`egide.domain.systemic_load`) beside the v2 simulation. Also times the v2
systemic load of the five worked examples (median of 200 calls each).

    python benchmarks/systemic_independence.py [--policies N] [--years Y] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from egide.actuarial.engine import portfolio_arrays, simulate
from egide.actuarial.generate import generate_book
from egide.actuarial.systemic import load_systemic_model, systemic_model_of
from egide.domain.application import parse_application
from egide.domain.product import load_product
from egide.domain.rating import policy_terms
from egide.domain.systemic_load import systemic_load

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("cabinet-medical", "pharmacie", "laboratoire", "clinique-120-lits", "chu-1500-lits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    product = load_product(ROOT / "src" / "egide" / "products" / "cyber-sante-v2.toml")
    book = generate_book(args.policies, args.seed, product)
    hospitals = [e for e in book if e.application.establishment.type == "hopital"]
    print(f"book of {len(book)} policies, {len(hospitals)} hospitals, {args.years} years")
    for name, model in (("v1", load_systemic_model()), ("v2", systemic_model_of(product))):
        out = []
        for i, entries in enumerate((hospitals, book)):
            arrays = portfolio_arrays(entries, product)
            arrays = dataclasses.replace(arrays, frequency=np.zeros_like(arrays.frequency))
            r = simulate(arrays, args.years, args.seed + i, systemic=model)
            out.append((r.aal_by_kind["hopital"], r.aal_by_kind_stderr["hopital"]))
        (a, sa), (b, sb) = out
        print(
            f"{name}: hospitals' systemic AAL alone {a:,.0f} ± {sa:,.0f}, in the book "
            f"{b:,.0f} ± {sb:,.0f}, ratio {b / a:.3f}"
        )
    loads = sum(
        sum(systemic_load(e.application, product, policy_terms(e.application, product)).values())
        for e in hospitals
    )
    print(f"v2: sum of the hospitals' systemic loads in rating {loads:,.0f}")
    for example in EXAMPLES:
        data = yaml.safe_load((ROOT / "examples" / f"{example}.yaml").read_text("utf-8"))
        app = parse_application(data, product)
        terms = policy_terms(app, product)
        times = []
        for _ in range(200):
            t = time.perf_counter()
            load = systemic_load(app, product, terms)
            times.append(time.perf_counter() - t)
        print(
            f"{example}: systemic load {sum(load.values()):,.2f} EUR, "
            f"{statistics.median(times) * 1000:.2f} ms"
        )


if __name__ == "__main__":
    main()
