"""`egide model ...`: commands that (re)fit the risk model's parameters on data, and the
calibration table of risk model v2 (`egide model calibration`).

Mounted by the main CLI as ``app.add_typer(model_cmd.app, name="model")``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egide.actuarial.breach_filter import EntityFilter
from egide.cli.common import console, fail, guarded

if TYPE_CHECKING:
    from rich.console import Console

    from egide.actuarial.breaches import (
        BreachData,
        BreachSizeFit,
        ModelFit,
        WithinEntityDispersion,
    )

app = typer.Typer(
    name="model",
    help="Fit the risk model's parameters on public data.",
    no_args_is_help=True,
)


@app.callback()
def model() -> None:
    """Fit the risk model's parameters on public data."""


def _year_note(year: int) -> str:
    from egide.actuarial.breaches import PARTIAL_YEARS, UNDER_COUNTED_YEARS

    if year in UNDER_COUNTED_YEARS:
        return "under-counted (cases closed mid-2023 to Nov 2024 missing)"
    if year in PARTIAL_YEARS:
        return "partial (portal starts 2009-10-21)"
    return ""


def _num(value: float) -> float | None:
    """JSON has no NaN: a missing figure is null."""
    return value if math.isfinite(value) else None


def _model_json(m: ModelFit, best: str) -> dict[str, Any]:
    return {
        "model": m.name,
        "parameters": {e.name: {"value": e.value, "se": _num(e.se)} for e in m.estimates},
        "n_params": m.model.n_params,
        "loglik": m.loglik,
        "aic": m.aic,
        "ks_statistic": m.ks_statistic,
        "ks_pvalue_nominal": m.ks_pvalue,
        "best_by_aic": m.name == best,
    }


def _moments_json(fit: BreachSizeFit) -> dict[str, Any]:
    from egide.actuarial.breaches import TruncatedLognormal

    mom = fit.log_moments
    lognormal = fit.lognormal.model
    assert isinstance(lognormal, TruncatedLognormal)
    f_mean, f_sd, f_skew, f_kurt = lognormal.log_moments()
    return {
        "n": mom.n,
        "mean": mom.mean,
        "sd": mom.sd,
        "skewness": mom.skewness,
        "excess_kurtosis": mom.excess_kurtosis,
        "normal_theory_se": {
            "mean": mom.se_mean,
            "sd": mom.se_sd,
            "skewness": mom.se_skewness,
            "excess_kurtosis": mom.se_excess_kurtosis,
        },
        "fitted_lognormal": {
            "mean": f_mean,
            "sd": f_sd,
            "skewness": f_skew,
            "excess_kurtosis": f_kurt,
        },
    }


def _ks_json(fit: BreachSizeFit, ks_boot: float | None) -> dict[str, Any]:
    pvalues = {m.name: m.ks_pvalue for m in fit.models}
    return {
        "critical_5pct_known_parameters": fit.ks[0].critical_5pct,
        "laws": [
            {
                "model": k.model,
                "d": k.d,
                "d_plus": k.d_plus,
                "d_minus": k.d_minus,
                "sqrt_n_d": k.sqrt_n_d,
                "at_individuals": k.at,
                "fitted_cdf": k.fitted_cdf,
                "empirical_cdf": k.empirical_cdf,
                "pvalue_nominal": pvalues[k.model],
                "pvalue_bootstrap": ks_boot if k.model == fit.lognormal.name else None,
            }
            for k in fit.ks
        ],
    }


def _hill_json(fit: BreachSizeFit) -> dict[str, Any]:
    h = fit.hill
    return {
        "k": h.k,
        "k_rule": h.k_rule,
        "alpha": h.alpha,
        "se": h.se,
        "ci95": list(h.ci95),
        "threshold": h.threshold,
        "k_range": [h.k_low, h.k_high],
        "alpha_range": [h.alpha_min, h.alpha_max],
        "lognormal_alpha": _num(h.lognormal_alpha),
        "lognormal_alpha_range": [_num(h.lognormal_alpha_min), _num(h.lognormal_alpha_max)],
        "interpretation": h.interpretation,
    }


def _as_json(
    data: BreachData,
    entity_filter: EntityFilter,
    placeholders_left_out: int,
    fit: BreachSizeFit,
    ks_boot: float | None,
    within: WithinEntityDispersion | None,
) -> dict[str, Any]:
    from egide.actuarial.breaches import (
        PARTIAL_YEARS,
        UNDER_COUNTED_YEARS,
        TruncatedLognormal,
        yearly_counts,
    )

    lognormal = fit.lognormal.model
    assert isinstance(lognormal, TruncatedLognormal)
    best = fit.best_by_aic.name
    return {
        "files": [
            {
                "path": f.path,
                "read": f.read,
                "kept": f.kept,
                "latest_submission": f.latest_submission.isoformat()
                if f.latest_submission
                else None,
            }
            for f in data.files
        ],
        "read": data.dropped.read,
        "kept": data.kept,
        "dropped": {r.value: c for r, c in data.dropped.counts.items()},
        "dropped_total": data.dropped.total,
        "dropped_examples": {r.value: list(e) for r, e in data.dropped.examples.items()},
        "kept_notes": {n.value: c for n, c in data.notes.items()},
        "entity_type": entity_filter.value,
        "filter": entity_filter.description,
        "selected": len(data.select(entity_filter)),
        "placeholders_left_out": placeholders_left_out,
        "threshold": fit.threshold,
        "n": fit.n,
        "lognormal": {
            "mu": lognormal.mu,
            "sigma": lognormal.sigma,
            "se_mu": _num(fit.lognormal.estimate("mu").se),
            "se_sigma": _num(fit.lognormal.estimate("sigma").se),
            "corr_mu_sigma": _num(fit.lognormal.correlation("mu", "sigma")),
            "median_untruncated": math.exp(lognormal.mu),
            "share_below_threshold": lognormal.truncated_mass,
            "loglik": fit.lognormal.loglik,
            "aic": fit.lognormal.aic,
            "ks_statistic": fit.lognormal.ks_statistic,
            "ks_pvalue_nominal": fit.lognormal.ks_pvalue,
            "ks_pvalue_bootstrap": ks_boot,
        },
        "models": [_model_json(m, best) for m in fit.models],
        "best_by_aic": best,
        "quantiles": [
            {
                "p": q.p,
                "empirical": q.empirical,
                "empirical_90pct_interval": [_num(q.empirical_low), _num(q.empirical_high)],
                "fitted": dict(q.fitted),
            }
            for q in fit.quantiles
        ],
        "within_entity": None
        if within is None
        else {
            "sd": within.sd,
            "se": _num(within.se),
            "sd_naive": within.sd_naive,
            "entities": within.entities,
            "breaches": within.breaches,
        },
        "yearly_counts": {str(y): c for y, c in yearly_counts(data.records, entity_filter).items()},
        "under_counted_years": sorted(UNDER_COUNTED_YEARS),
        "partial_years": sorted(PARTIAL_YEARS),
        "log_moments": _moments_json(fit),
        "ks_distances": _ks_json(fit, ks_boot),
        "hill": _hill_json(fit),
    }


def _print_human(
    console: Console,
    data: BreachData,
    entity_filter: EntityFilter,
    placeholders_left_out: int,
    fit: BreachSizeFit,
    ks_boot: float | None,
    within: WithinEntityDispersion | None,
) -> None:
    from rich.table import Table

    from egide.actuarial.breaches import REPORTING_THRESHOLD, TruncatedLognormal, yearly_counts

    files = Table(title="What was read")
    for col in ("file", "records read", "kept", "latest submission"):
        files.add_column(col, justify="left" if col == "file" else "right")
    for f in data.files:
        latest = f.latest_submission.isoformat() if f.latest_submission else "-"
        files.add_row(Path(f.path).name, str(f.read), str(f.kept), latest)
    files.add_row("total", str(data.dropped.read), str(data.kept), "", style="bold")
    console.print(files)

    dropped = Table(title=f"What was dropped ({data.dropped.total} of {data.dropped.read} read)")
    for col in ("reason", "count", "rule", "examples (file:line)"):
        dropped.add_column(col, justify="right" if col == "count" else "left")
    for reason, count in data.dropped.counts.items():
        examples = ", ".join(data.dropped.examples.get(reason, ()))
        dropped.add_row(reason.value, str(count), reason.description, examples)
    if not data.dropped.counts:
        dropped.add_row("(none)", "0", "", "")
    console.print(dropped)

    notes = Table(title="Kept, with a missing or multi-valued field")
    notes.add_column("note")
    notes.add_column("records", justify="right")
    for note, count in data.notes.items():
        notes.add_row(note.value, str(count))
    console.print(notes)

    lognormal = fit.lognormal.model
    assert isinstance(lognormal, TruncatedLognormal)
    title = (
        f"Lognormal left-truncated at {fit.threshold:g}: {entity_filter.description}, n = {fit.n}"
    )
    if placeholders_left_out:
        title += f" ({placeholders_left_out} placeholder counts of 500/501 left out)"
    params = Table(title=title)
    for col in ("parameter", "estimate", "std. error"):
        params.add_column(col, justify="left" if col == "parameter" else "right")
    for e in fit.lognormal.estimates:
        params.add_row(e.name, f"{e.value:.4f}", f"{e.se:.4f}")
    params.add_row(
        "correlation of mu and sigma", f"{fit.lognormal.correlation('mu', 'sigma'):.2f}", ""
    )
    params.add_row("median before truncation, exp(mu)", f"{math.exp(lognormal.mu):,.0f}", "")
    params.add_row(
        f"share of breaches under {REPORTING_THRESHOLD} (unseen)",
        f"{lognormal.truncated_mass:.1%}",
        "",
    )
    console.print(params)
    _print_moments(console, fit)

    gof = Table(
        title=f"Models of individuals affected, all left-truncated at {fit.threshold:g} "
        "(lower AIC is better, * = best)"
    )
    for col in ("model", "parameters (se)", "log-lik", "AIC", "ΔAIC", "KS", "KS p (nominal)"):
        gof.add_column(col, justify="left" if col in ("model", "parameters (se)") else "right")
    best = fit.best_by_aic
    for m in fit.models:
        est = ", ".join(f"{e.name}={e.value:.4g} ({e.se:.2g})" for e in m.estimates)
        gof.add_row(
            m.name + (" *" if m is best else ""),
            est,
            f"{m.loglik:,.1f}",
            f"{m.aic:,.1f}",
            f"{m.aic - best.aic:,.1f}",
            f"{m.ks_statistic:.4f}",
            f"{m.ks_pvalue:.3g}",
        )
    console.print(gof)
    if ks_boot is not None:
        console.print(f"Lognormal KS p-value, parametric bootstrap: {ks_boot:.3f}")
    _print_ks(console, fit, ks_boot)

    quant = Table(title="Quantiles of individuals affected: empirical vs fitted")
    quant.add_column("level", justify="right")
    quant.add_column("empirical", justify="right")
    quant.add_column("90 % interval", justify="right")
    for m in fit.models:
        quant.add_column(m.name, justify="right")
    for q in fit.quantiles:
        quant.add_row(
            f"{q.p:.0%}",
            f"{q.empirical:,.0f}",
            f"{q.empirical_low:,.0f} – {q.empirical_high:,.0f}",
            *(f"{q.fitted[m.name]:,.0f}" for m in fit.models),
        )
    console.print(quant)
    _print_hill(console, fit)

    if within is None:
        console.print("Within-entity sd of log(individuals): no repeat reporter in the selection")
    else:
        se = f" ± {within.se:.2f}" if math.isfinite(within.se) else ""
        console.print(
            f"Within-entity sd of log(individuals), {within.entities} repeat reporters, "
            f"{within.breaches} breaches: {within.sd:.2f}{se} (truncation-aware), "
            f"{within.sd_naive:.2f} (naive)"
        )

    years = Table(title=f"Breaches per submission year ({entity_filter.description})")
    years.add_column("year", justify="right")
    years.add_column("breaches", justify="right")
    years.add_column("note")
    for year, count in yearly_counts(data.records, entity_filter).items():
        years.add_row(str(year), str(count), _year_note(year))
    console.print(years)


def _print_moments(console: Console, fit: BreachSizeFit) -> None:
    from rich.table import Table

    from egide.actuarial.breaches import TruncatedLognormal

    mom = fit.log_moments
    lognormal = fit.lognormal.model
    assert isinstance(lognormal, TruncatedLognormal)
    fitted = lognormal.log_moments()
    table = Table(
        title=f"Plain moments of log(individuals affected), n = {mom.n} "
        "(the sample, truncated at the threshold, vs the fitted truncated lognormal)"
    )
    for col in ("statistic", "sample", "se (normal theory)", "fitted lognormal"):
        table.add_column(col, justify="left" if col == "statistic" else "right")
    rows = (
        ("mean", mom.mean, mom.se_mean),
        ("standard deviation", mom.sd, mom.se_sd),
        ("skewness", mom.skewness, mom.se_skewness),
        ("excess kurtosis", mom.excess_kurtosis, mom.se_excess_kurtosis),
    )
    for (label, value, se), model_value in zip(rows, fitted, strict=True):
        table.add_row(label, f"{value:.3f}", f"{se:.3f}", f"{model_value:.3f}")
    console.print(table)


def _print_ks(console: Console, fit: BreachSizeFit, ks_boot: float | None) -> None:
    from rich.table import Table

    critical = fit.ks[0].critical_5pct
    table = Table(
        title=f"Kolmogorov–Smirnov distance D of each fitted law to the empirical CDF "
        f"(n = {fit.n}; D > {critical:.4f} rejects at 5 % if the parameters were known)"
    )
    cols = (
        "model",
        "D",
        "√n·D",
        "largest gap at",
        "fitted CDF",
        "empirical CDF",
        "p nominal",
        "p bootstrap",
    )
    for col in cols:
        table.add_column(col, justify="left" if col == "model" else "right")
    pvalues = {m.name: m.ks_pvalue for m in fit.models}
    for k in fit.ks:
        boot = ks_boot if k.model == fit.lognormal.name else None
        table.add_row(
            k.model,
            f"{k.d:.4f}",
            f"{k.sqrt_n_d:.3f}",
            f"{k.at:,.0f}",
            f"{k.fitted_cdf:.4f}",
            f"{k.empirical_cdf:.4f}",
            f"{pvalues[k.model]:.3g}",
            "-" if boot is None else f"{boot:.3f}",
        )
    console.print(table)


def _print_hill(console: Console, fit: BreachSizeFit) -> None:
    from rich.table import Table

    h = fit.hill
    table = Table(
        title=f"Hill tail index alpha, P(X > x) ~ x^-alpha, on the k largest breaches ({h.k_rule})"
    )
    for col in ("", "k", "alpha", "se", "95 % interval", "above (individuals)"):
        table.add_column(col, justify="left" if col == "" else "right")
    low, high = h.ci95
    table.add_row(
        "estimate",
        str(h.k),
        f"{h.alpha:.3f}",
        f"{h.se:.3f}",
        f"{low:.3f} – {high:.3f}",
        f"{h.threshold:,.0f}",
    )
    table.add_row(
        "range over k",
        f"{h.k_low}–{h.k_high}",
        f"{h.alpha_min:.3f} – {h.alpha_max:.3f}",
        "",
        "",
        "",
    )
    if math.isfinite(h.lognormal_alpha):
        table.add_row("fitted lognormal", str(h.k), f"{h.lognormal_alpha:.3f}", "", "", "")
        table.add_row(
            "fitted lognormal, range over k",
            f"{h.k_low}–{h.k_high}",
            f"{h.lognormal_alpha_min:.3f} – {h.lognormal_alpha_max:.3f}",
            "",
            "",
            "",
        )
    console.print(table)
    console.print(f"Tail index: {h.interpretation}.")


@app.command("fit-breaches")
@guarded
def fit_breaches(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="HHS breach-portal CSV export(s); overlaps prefer the later export.",
        ),
    ],
    entity_type: Annotated[
        EntityFilter,
        typer.Option("--entity-type", help="Which breaches to fit.", case_sensitive=False),
    ] = EntityFilter.PROVIDER,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    keep_placeholders: Annotated[
        bool,
        typer.Option(
            "--keep-placeholders",
            help="Keep counts of exactly 500 or 501 (placeholders for 'unknown') in the fit.",
        ),
    ] = False,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            min=0,
            help="Bootstrap replicates for the KS p-value and the within-entity sd's error.",
        ),
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstraps.")] = 0,
) -> None:
    """Load HHS breach files, fit the number of individuals affected per breach and report."""
    from egide.actuarial.breaches import (
        BreachDataError,
        BreachFitError,
        fit_breach_sizes,
        ks_bootstrap_pvalue,
        load_breaches,
        size_sample,
        within_entity_dispersion,
    )

    try:
        data = load_breaches(files)
        x, left_out = size_sample(data, entity_type, keep_placeholders=keep_placeholders)
        fit = fit_breach_sizes(x)
        ks_boot = (
            ks_bootstrap_pvalue(fit.lognormal, bootstrap, seed=seed) if bootstrap > 0 else None
        )
    except BreachDataError as exc:
        fail(str(exc))
    except BreachFitError as exc:
        names = ", ".join(str(f) for f in files)
        fail(f"{names}: cannot fit ({entity_type.value}): {exc}")
    within: WithinEntityDispersion | None
    try:
        within = within_entity_dispersion(
            data.records,
            entity_type,
            keep_placeholders=keep_placeholders,
            n_boot=bootstrap,
            seed=seed,
        )
    except BreachFitError:
        within = None  # no repeat reporter in the selection: nothing to report
    if as_json:
        payload = _as_json(data, entity_type, left_out, fit, ks_boot, within)
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        _print_human(console, data, entity_type, left_out, fit, ks_boot, within)


@app.command("calibration")
@guarded
def calibration_cmd(
    product_file: Annotated[
        Path | None,
        typer.Option(
            "--product",
            help="Product file (risk model v2); default: the packaged cyber-sante-v2.toml.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The model's national figures per kind of establishment beside the public anchors."""
    from importlib import resources

    from egide.actuarial.calibration import calibration
    from egide.domain.errors import ProductError
    from egide.domain.product import load_product

    path = product_file or Path(str(resources.files("egide.products") / "cyber-sante-v2.toml"))
    try:
        table = calibration(load_product(path))
    except ProductError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps(table, indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    out = Table(
        title=f"Calibration of {table['product']} (risk model {table['risk_model_version']})"
    )
    for col in (
        "kind",
        "in France",
        "claims/yr",
        "> 1 MEUR/yr",
        "ransomware/yr",
        "EL",
        "premium HT",
    ):
        out.add_column(col, justify="right" if col != "kind" else "left")
    for kind, k in table["kinds"].items():
        out.add_row(
            kind,
            f"{k['establishments_in_france']:,}",
            f"{k['claims_per_year']:,.1f}",
            f"{k['claims_over_1m_per_year']:,.2f}",
            f"{k['ransomware_per_year']:,.1f}",
            f"{k['expected_loss']:,.0f}",
            f"{k['premium']:,.0f}",
        )
    console.print(out)
    for a in table["anchors"]:
        console.print(f"{a['name']}: {a['value']} {a['unit']} — {a['source']}")


if __name__ == "__main__":  # python -m egide.cli.model_cmd fit-breaches FILE...
    app()
