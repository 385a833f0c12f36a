"""docs/breaches.md and the risk model match a fresh fit of the shipped HHS files.

Every figure the page's tables quote for the fit (selection, n, mu, sigma, their errors, the
comparison, the quantiles, the moments, the KS distances, the Hill index, the within-entity
spread, the yearly counts) is recomputed from tests/data/hhs-breach-portal and compared within
the rounding the page prints. The figure risk-model-v1.toml takes from the fit (the within-entity
sd of log records exposed, 2.0, in the crisis-management comment) is checked against a fresh
within-entity fit, and the page's table of the model's records-driven severities against the
model file. Figures that need a bootstrap are in the tests marked slow.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from egide.actuarial.breaches import (
    BreachData,
    BreachSizeFit,
    DropReason,
    EntityFilter,
    TruncatedLognormal,
    fit_breach_sizes,
    ks_bootstrap_pvalue,
    load_breaches,
    size_sample,
    within_entity_dispersion,
    yearly_counts,
)
from tests.conftest import REPO, SHARED_DATA

DOC = REPO / "docs" / "breaches.md"
RISK_MODEL = REPO / "src" / "egide" / "products" / "risk-model-v1.toml"
FILES = sorted((SHARED_DATA / "hhs-breach-portal").glob("hhs_ocr_breach_report_*.csv"))
#: the bootstraps of the page: 200 replicates, seed 0 (docs/breaches.md § Reproduce)
N_BOOT, SEED = 200, 0

FILTER_BY_LABEL = {
    "all": EntityFilter.ALL,
    "provider": EntityFilter.PROVIDER,
    "provider-hacking": EntityFilter.PROVIDER_HACKING,
    "all covered entities": EntityFilter.ALL,
    "Healthcare Provider": EntityFilter.PROVIDER,
    "Healthcare Provider, Hacking/IT Incident": EntityFilter.PROVIDER_HACKING,
}
MODEL_BY_LABEL = {"lognormal": "lognormal", "log-logistic": "log-logistic", "Pareto": "pareto"}


# ----------------------------------------------------------------------------- fresh fits


@dataclass(frozen=True)
class Run:
    x_left_out: int
    fit: BreachSizeFit


@cache
def data() -> BreachData:
    assert len(FILES) == 2, "the two shipped HHS files are expected"
    return load_breaches(FILES)


@cache
def run(entity_filter: EntityFilter, keep_placeholders: bool = False) -> Run:
    """The fit `egide model fit-breaches` makes (quantile intervals: 500 resamples, seed 0)."""
    x, left_out = size_sample(data(), entity_filter, keep_placeholders=keep_placeholders)
    return Run(left_out, fit_breach_sizes(x))


def lognormal(entity_filter: EntityFilter, keep_placeholders: bool = False) -> TruncatedLognormal:
    model = run(entity_filter, keep_placeholders).fit.lognormal.model
    assert isinstance(model, TruncatedLognormal)
    return model


# ----------------------------------------------------------------------------- reading the page


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def tables(header_start: str) -> list[list[list[str]]]:
    """Every markdown table of the page whose header row starts with `header_start`: rows of
    cells, header and separator left out."""
    found: list[list[list[str]]] = []
    lines = [line.strip() for line in doc_text().splitlines()]
    for i, line in enumerate(lines):
        if line.startswith(header_start):
            rows = []
            for body in lines[i + 2 :]:
                if not body.startswith("|"):
                    break
                rows.append([c.strip() for c in body.strip("|").split("|")])
            found.append(rows)
    assert found, f"no table with a header starting {header_start!r} in {DOC}"
    return found


def table(header_start: str) -> list[list[str]]:
    (only,) = tables(header_start)
    return only


def as_number(text: str) -> tuple[float, float]:
    """A figure as printed and half a unit of its last digit (the rounding allowance).
    Thousands separators, a typographic minus, bold and a percent sign are understood."""
    t = text.replace("**", "").replace("−", "-").replace(",", "").strip()
    percent = t.endswith("%")
    t = t.rstrip("%").strip()
    assert re.fullmatch(r"-?\d+(\.\d+)?", t), f"not a figure: {text!r}"
    decimals = len(t.split(".")[1]) if "." in t else 0
    value, half = float(t), 0.5 * 10.0**-decimals
    if percent:
        return value / 100, half / 100
    return value, half


def assert_quoted(text: str, fresh: float, what: str) -> None:
    value, half = as_number(text)
    assert abs(value - fresh) <= half + 1e-9, f"{what}: the page says {text}, a fresh fit {fresh}"


def numbers(text: str) -> list[str]:
    return re.findall(r"−?-?\d[\d,]*(?:\.\d+)?", text)


# ----------------------------------------------------------------------------- the selection


def test_the_selection_and_the_loader_figures_are_those_of_the_shipped_files() -> None:
    d = data()
    rows = table("| file | read | kept |")
    by_name = {Path(f.path).name: f for f in d.files}
    first, second, total = rows
    assert first[0] == "2009-10-21 to 2023-05-01" and second[0].startswith("open cases")
    for cells, summary in (
        (first, by_name["hhs_ocr_breach_report_2009-10-21_to_2023-05-01.csv"]),
        (second, by_name["hhs_ocr_breach_report_open_cases_2022-03-21_to_2024-11-01.csv"]),
    ):
        assert_quoted(cells[1], summary.read, "records read")
        assert_quoted(cells[2], summary.kept, "records kept")
    assert_quoted(total[1], d.dropped.read, "read")
    assert_quoted(total[2], d.kept, "kept")
    for col, reason in ((3, DropReason.EXACT_DUPLICATE), (4, DropReason.MISSING_COUNT)):
        assert_quoted(total[col], d.dropped.counts.get(reason, 0), reason.value)
    assert_quoted(total[5], d.dropped.counts[DropReason.SUPERSEDED], "superseded")

    text = " ".join(doc_text().split())
    m = re.search(
        r"\(([\d,]+) of ([\d,]+) records; ([\d,]+) of ([\d,]+) providers; "
        r"([\d,]+) of ([\d,]+) provider hacking breaches\)",
        text,
    )
    assert m, "the page states how many placeholder counts each filter leaves out"
    quoted = [m.group(i) for i in range(1, 7)]
    for i, f in enumerate(EntityFilter):
        assert_quoted(quoted[2 * i], run(f).x_left_out, f"placeholders left out ({f.value})")
        assert_quoted(quoted[2 * i + 1], len(d.select(f)), f"records selected ({f.value})")
        assert run(f).fit.n + run(f).x_left_out == len(d.select(f))


def test_the_yearly_counts_are_those_of_the_shipped_files() -> None:
    rows = table("| year | all | provider | provider-hacking |")
    fresh = {f: yearly_counts(data().records, f) for f in EntityFilter}
    assert len(rows) == len(fresh[EntityFilter.ALL])
    for cells in rows:
        year = int(cells[0].split()[0])
        for col, f in enumerate(EntityFilter, start=1):
            count = fresh[f].get(year, 0)  # a filter's counts start at its first breach
            assert_quoted(cells[col], count, f"breaches in {year} ({f.value})")


# ----------------------------------------------------------------------------- the fit


def test_the_summary_table_quotes_n_mu_sigma_and_ks_of_a_fresh_fit() -> None:
    rows = table("| breaches (placeholder counts left out) |")
    assert {FILTER_BY_LABEL[r[0]] for r in rows} == set(EntityFilter)
    for cells in rows:
        f = FILTER_BY_LABEL[cells[0]]
        fit = run(f).fit
        assert_quoted(cells[1], fit.n, f"n ({f.value})")
        mu, se_mu = numbers(cells[2])
        sigma, se_sigma = numbers(cells[3])
        assert_quoted(mu, fit.lognormal.estimate("mu").value, f"mu ({f.value})")
        assert_quoted(se_mu, fit.lognormal.estimate("mu").se, f"se of mu ({f.value})")
        assert_quoted(sigma, fit.lognormal.estimate("sigma").value, f"sigma ({f.value})")
        assert_quoted(se_sigma, fit.lognormal.estimate("sigma").se, f"se of sigma ({f.value})")
        assert_quoted(cells[4], fit.lognormal.ks_statistic, f"KS ({f.value})")


def test_the_parameter_table_quotes_a_fresh_fit() -> None:
    rows = table("| filter | n | mu | se | sigma | se |")
    assert [FILTER_BY_LABEL[r[0]] for r in rows] == list(EntityFilter)
    for cells in rows:
        f = FILTER_BY_LABEL[cells[0]]
        fit, model = run(f).fit, lognormal(f)
        fresh = [
            fit.n,
            model.mu,
            fit.lognormal.estimate("mu").se,
            model.sigma,
            fit.lognormal.estimate("sigma").se,
            fit.lognormal.correlation("mu", "sigma"),
            math.exp(model.mu),
            model.truncated_mass,
        ]
        for text, value in zip(cells[1:], fresh, strict=True):
            assert_quoted(text, value, f"parameter table ({f.value})")


def test_the_comparison_table_quotes_every_fitted_law() -> None:
    rows = table("| filter | model | parameters (se) | log-lik |")
    assert len(rows) == 3 * len(EntityFilter)
    for cells in rows:
        f, name = FILTER_BY_LABEL[cells[0]], MODEL_BY_LABEL[cells[1].replace("**", "")]
        fit = run(f).fit
        (m,) = [m for m in fit.models if m.name == name]
        quoted = numbers(cells[2])
        fresh = [v for e in m.estimates for v in (e.value, e.se)]
        assert len(quoted) == len(fresh)
        for text, value in zip(quoted, fresh, strict=True):
            assert_quoted(text, value, f"{name} parameters ({f.value})")
        assert_quoted(cells[3], m.loglik, f"{name} log-likelihood ({f.value})")
        assert_quoted(cells[4], m.aic, f"{name} AIC ({f.value})")
        assert_quoted(cells[5], m.aic - fit.best_by_aic.aic, f"{name} ΔAIC ({f.value})")
        assert_quoted(cells[6], m.ks_statistic, f"{name} KS ({f.value})")
        bound = re.fullmatch(r"< 1e[−-](\d+)", cells[7])
        if bound:
            assert m.ks_pvalue < 10.0 ** -int(bound.group(1))
        else:
            assert_quoted(numbers(cells[7])[0], m.ks_pvalue, f"{name} KS p ({f.value})")
        assert (m is fit.best_by_aic) == cells[1].startswith("**")


def test_the_quantile_tables_quote_a_fresh_fit() -> None:
    found = tables("| level | empirical | 90 % interval |")
    assert len(found) == len(EntityFilter)
    for rows, f in zip(found, EntityFilter, strict=True):  # all, provider, provider-hacking
        quantiles = run(f).fit.quantiles
        assert len(rows) == len(quantiles)
        for cells, q in zip(rows, quantiles, strict=True):
            assert_quoted(cells[0], q.p, "level")
            low, high = numbers(cells[2])
            fresh = [q.empirical, q.empirical_low, q.empirical_high]
            fresh += [q.fitted[name] for name in ("lognormal", "log-logistic", "pareto")]
            quoted = [cells[1], low, high, *cells[3:]]
            for text, value in zip(quoted, fresh, strict=True):
                assert_quoted(text, value, f"quantile {q.p} ({f.value})")


def test_the_moment_table_quotes_the_plain_moments_of_log_size() -> None:
    rows = table("| filter | n | mean (se) | sd (se) |")
    assert [FILTER_BY_LABEL[r[0]] for r in rows] == list(EntityFilter)
    for cells in rows:
        f = FILTER_BY_LABEL[cells[0]]
        mom = run(f).fit.log_moments
        fresh = [
            mom.n,
            mom.mean,
            mom.se_mean,
            mom.sd,
            mom.se_sd,
            mom.skewness,
            mom.se_skewness,
            mom.excess_kurtosis,
            mom.se_excess_kurtosis,
            *lognormal(f).log_moments(),
        ]
        quoted = [cells[1], *numbers(" ".join(cells[2:6])), *cells[6:]]
        assert len(quoted) == len(fresh)
        for text, value in zip(quoted, fresh, strict=True):
            assert_quoted(text, value, f"moments of log size ({f.value})")


def test_the_ks_table_quotes_the_distance_of_every_law() -> None:
    rows = table("| filter | model | D |")
    assert len(rows) == 3 * len(EntityFilter)
    for cells in rows:
        f, name = FILTER_BY_LABEL[cells[0]], MODEL_BY_LABEL[cells[1]]
        (ks,) = [k for k in run(f).fit.ks if k.model == name]
        fresh = [ks.d, ks.sqrt_n_d, ks.at, ks.fitted_cdf, ks.empirical_cdf]
        for text, value in zip(cells[2:], fresh, strict=True):
            assert_quoted(text, value, f"KS of {name} ({f.value})")


def test_the_hill_table_quotes_the_tail_index_and_its_range() -> None:
    rows = table("| filter | k | above (individuals) | alpha (se) |")
    assert [FILTER_BY_LABEL[r[0]] for r in rows] == list(EntityFilter)
    for cells in rows:
        f = FILTER_BY_LABEL[cells[0]]
        h = run(f).fit.hill
        fresh = [
            h.k,
            h.threshold,
            h.alpha,
            h.se,
            *h.ci95,
            h.k_low,
            h.k_high,
            h.alpha_min,
            h.alpha_max,
            h.lognormal_alpha,
            h.lognormal_alpha_min,
            h.lognormal_alpha_max,
        ]
        quoted = [n.lstrip("-") for n in numbers(" ".join(cells[1:]))]  # "47–231" is a range
        assert len(quoted) == len(fresh)
        for text, value in zip(quoted, fresh, strict=True):
            assert_quoted(text, value, f"Hill ({f.value})")


def test_the_placeholder_refit_figures_are_those_of_a_fresh_fit() -> None:
    text = " ".join(doc_text().split())
    m = re.search(r"sigma rises to (\d\.\d+) / (\d\.\d+) / (\d\.\d+)", text)
    assert m, "the page quotes sigma refitted with the placeholders"
    for i, f in enumerate(EntityFilter, start=1):
        assert_quoted(m.group(i), lognormal(f, keep_placeholders=True).sigma, f"sigma ({f})")
    m = re.search(r"KS statistic then rises to (\d\.\d+)–(\d\.\d+)", text)
    assert m
    low, high = float(m.group(1)), float(m.group(2))
    for f in EntityFilter:
        assert low - 0.005 <= run(f, keep_placeholders=True).fit.lognormal.ks_statistic < high


def test_the_within_entity_table_quotes_a_fresh_fit_apart_from_its_bootstrap_error() -> None:
    rows = table("| filter | repeat reporters | their breaches |")
    assert [FILTER_BY_LABEL[r[0]] for r in rows] == list(EntityFilter)
    for cells in rows:
        f = FILTER_BY_LABEL[cells[0]]
        w = within_entity_dispersion(data().records, f)
        sd = numbers(cells[3])[0]
        sigma = lognormal(f).sigma
        fresh = [w.entities, w.breaches, w.sd, w.sd_naive, sigma, w.sd / sigma]
        quoted = [cells[1], cells[2], sd, cells[4], cells[5], cells[6]]
        for text, value in zip(quoted, fresh, strict=True):
            assert_quoted(text, value, f"within-entity table ({f.value})")


@pytest.mark.slow
def test_the_bootstrap_figures_are_those_of_a_fresh_bootstrap() -> None:
    shorts = {FILTER_BY_LABEL[r[0]]: r for r in table("| breaches (placeholder counts left out) |")}
    within = {FILTER_BY_LABEL[r[0]]: r for r in table("| filter | repeat reporters |")}
    for f in EntityFilter:
        p = ks_bootstrap_pvalue(run(f).fit.lognormal, N_BOOT, seed=SEED)
        assert_quoted(shorts[f][5], p, f"bootstrap KS p ({f.value})")
        w = within_entity_dispersion(data().records, f, n_boot=N_BOOT, seed=SEED)
        assert_quoted(numbers(within[f][3])[1], w.se, f"within-entity se ({f.value})")
    text = " ".join(doc_text().split())
    m = re.search(r"the bootstrap rejects the fit \(p = (\d\.\d+)\) on every filter", text)
    assert m
    for f in EntityFilter:
        p = ks_bootstrap_pvalue(run(f, keep_placeholders=True).fit.lognormal, N_BOOT, seed=SEED)
        assert_quoted(m.group(1), p, f"bootstrap KS p with placeholders ({f.value})")


# ----------------------------------------------------------------------------- the risk model


def cited_within_entity_sd() -> tuple[float, float]:
    """The within-entity sd of log records exposed and the sd 'for the rest' that the
    crisis-management sigma of risk-model-v1.toml cites in its comment."""
    raw = RISK_MODEL.read_text(encoding="utf-8")
    text = " ".join(re.sub(r"\n\s*#", " ", raw).split())  # a comment continued on the next line
    m = re.search(
        r"records exposed spread with sd (\d+\.\d+) in log within one provider \(HHS fit, "
        r"docs/breaches\.md\), cost ~ records\^(\d+\.\d+), (\d+\.\d+) for the rest",
        text,
    )
    assert m, f"{RISK_MODEL} cites the HHS within-entity sd in the crisis_management comment"
    return float(m.group(1)), float(m.group(3))


def test_the_sd_the_risk_model_cites_is_a_fresh_within_entity_fit_nudged_for_its_bias() -> None:
    """risk-model-v1.toml takes 2.0 from the within-entity sd of providers' hacking breaches
    (1.94 ± 0.15 on the shipped data), rounded up for the estimator's documented downward bias
    (a few per cent, tests/test_breaches.py): it must lie between the fresh estimate and the
    estimate corrected by 10 %, and within one bootstrap standard error of it."""
    cited, _ = cited_within_entity_sd()
    w = within_entity_dispersion(
        data().records, EntityFilter.PROVIDER_HACKING, n_boot=50, seed=SEED
    )
    assert w.sd <= cited <= 1.10 * w.sd
    assert abs(cited - w.sd) <= w.se
    # the page recommends the same figure
    assert f"**sigma_records = {cited:.1f}**" in doc_text()


def test_the_pages_table_of_records_driven_severities_is_the_model_file() -> None:
    severity = tomllib.loads(RISK_MODEL.read_text(encoding="utf-8"))["severity"]
    cited, rest = cited_within_entity_sd()
    rows = table("| coverage (risk-model-v1.toml) |")
    assert {r[0] for r in rows} == {
        "crisis_management",
        "data_liability",
        "regulatory_investigation",
    }
    for name, b_text, sigma_text, part_text, other_text in rows:
        s = severity[name]
        assert s["exposure"] == "records"
        b, sigma = float(s["exponent"]), float(s["sigma"])
        assert_quoted(b_text, b, f"{name} exponent")
        assert_quoted(sigma_text, sigma, f"{name} sigma")
        assert_quoted(part_text, b * cited, f"{name} records part")
        assert b * cited < sigma  # every sigma carries at least the records part
        assert_quoted(other_text, math.sqrt(sigma**2 - (b * cited) ** 2), f"{name} rest")
    crisis = severity["crisis_management"]
    records_part = float(crisis["exponent"]) * cited
    assert float(crisis["sigma"]) == round(math.hypot(records_part, rest), 1)
