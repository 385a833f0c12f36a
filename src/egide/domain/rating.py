"""Rating from the frequency x severity model of `products/risk-model-*.toml`.

For each coverage: a yearly Poisson frequency (kind, size, security controls, history) and a
lognormal severity (scaled by revenue or patient records; for business interruption, outage hours
times the hourly loss). Its expected loss is the frequency times the expected payment of one claim
under the policy's terms (`egide.domain.terms`: sub-deductible, sub-limit, policy deductible, BI
waiting and indemnity periods, the aggregate as a cap on one claim) — the limited expected value
of the lognormal, in closed form (`egide.domain.lognormal`). The annual aggregate across claims is
not priced (conservative; the portfolio simulation reports its effect).

Premium of a coverage = expected loss / (1 - loadings), rounded to the cent; the product's minimum
premium lifts the total (spread over the coverages in proportion to their premium); tax on the
total before tax, rounded to the cent. `risk_profile` is what the portfolio simulation draws from,
so rating and simulation share one model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from egide.domain import lognormal
from egide.domain.application import Application
from egide.domain.money import ZERO, cents
from egide.domain.product import COVERAGES, Product, RiskModel
from egide.domain.scoring import control_present, graded_value
from egide.domain.systemic_load import SYSTEMIC_LOADING, systemic_load
from egide.domain.terms import CoverageTermsInForce, PolicyTerms

HOURS_PER_DAY = Decimal(24)
HOURS_PER_YEAR = 8760.0  # risk model v2: BI hourly loss = annual gross margin / calendar hours
REVENUE_UNIT = 1_000_000.0  # risk model v2: reference revenue of costs
RECORDS_UNIT = 1_000.0  # risk model v2: reference records exposed of costs


@dataclass(frozen=True)
class Factor:
    """One multiplicative effect on a coverage's frequency or severity, for the breakdown."""

    code: str
    applies_to: str  # "frequency" | "severity"
    value: float


@dataclass(frozen=True)
class CoverageRisk:
    """Frequency and severity of one coverage for one establishment.

    Severity is lognormal(mu, sigma) in euros; for business interruption it is in hours of outage
    and `hourly_loss` turns hours into euros.
    """

    coverage: str
    frequency: float
    mu: float
    sigma: float
    hourly_loss: float = 0.0
    factors: tuple[Factor, ...] = ()

    @property
    def mean_severity(self) -> float:
        m = lognormal.mean(self.mu, self.sigma)
        return m * self.hourly_loss if self.coverage == "business_interruption" else m


def _clip_ratio(ratio: float, model: RiskModel) -> float:
    cap = float(model.max_size_ratio)
    return min(max(ratio, 1.0 / cap), cap)


def risk_profile(app: Application, model: RiskModel) -> dict[str, CoverageRisk]:
    """Frequency and severity of each coverage for this establishment under this model."""
    e, s, h = app.establishment, app.security, app.history
    kind = model.kinds[e.type]
    revenue_ratio = float(e.annual_revenue / kind.reference_revenue)
    size_factor = _clip_ratio(revenue_ratio, model) ** float(model.frequency_size_exponent)

    profile: dict[str, CoverageRisk] = {}
    for cov in COVERAGES:
        factors: list[Factor] = [Factor("size", "frequency", size_factor)]
        freq_mult = size_factor
        sev_mult = 1.0
        for code, control in model.controls.items():
            if control_present(s, code):
                continue
            if cov in control.frequency:
                f = float(control.frequency[cov])
                freq_mult *= f
                factors.append(Factor(code, "frequency", f))
            if cov in control.severity:
                f = float(control.severity[cov])
                sev_mult *= f
                factors.append(Factor(code, "severity", f))
        for code, graded in model.graded.items():
            if cov not in graded.applies_to:
                continue
            badness = graded.badness(graded_value(s, code))
            if badness > 0:
                f = 1.0 + float(badness) * (float(graded.worst_factor) - 1.0)
                freq_mult *= f
                factors.append(Factor(code, "frequency", f))
        hist = 1.0 + float(model.incident_factor) * h.incidents_last_5_years
        if cov in ("cyber_extortion", "business_interruption", "data_restoration"):
            hist += float(model.ransomware_factor) * h.ransomware_last_5_years
        hist = min(hist, float(model.history_max_factor))
        if hist > 1.0:
            freq_mult *= hist
            factors.append(Factor("history", "frequency", hist))

        frequency = float(kind.base_frequency) * float(model.coverage_share[cov]) * freq_mult
        if cov == "business_interruption":
            mu = math.log(float(kind.outage_median_hours) * sev_mult)
            sigma = float(kind.outage_sigma)
            hourly = float(e.annual_revenue * kind.gross_margin_rate / kind.operating_hours)
            profile[cov] = CoverageRisk(cov, frequency, mu, sigma, hourly, tuple(factors))
            continue
        sev = model.severity[cov]
        exposure = e.annual_revenue if sev.exposure == "revenue" else max(e.patient_records, 1)
        # severity scales on one reference for all kinds (no clipping: a CHU's breach is not a
        # practice's); frequency scales within the kind, clipped
        scale = (float(exposure) / float(sev.reference_exposure)) ** float(sev.exponent)
        if scale != 1.0:
            factors.append(Factor(f"exposure_{sev.exposure}", "severity", scale))
        mu = math.log(float(sev.median) * scale * sev_mult)
        profile[cov] = CoverageRisk(cov, frequency, mu, float(sev.sigma), 0.0, tuple(factors))
    return profile


def policy_terms(app: Application, product: Product) -> PolicyTerms:
    """The terms a policy on this application would carry: sub-limits, deductibles, BI periods."""
    aggregate = app.cover.limit
    coverages = {}
    for code, cov in product.coverages.items():
        limit = app.cover.sublimits.get(code, aggregate * cov.default_limit_share)
        coverages[code] = CoverageTermsInForce(
            limit=cents(min(limit, aggregate)), sub_deductible=cov.sub_deductible
        )
    bi = product.coverages["business_interruption"]
    assert bi.waiting_period_hours is not None and bi.indemnity_period_days is not None
    return PolicyTerms(
        coverages=coverages,
        deductible=app.cover.deductible,
        aggregate_limit=aggregate,
        waiting_period_hours=bi.waiting_period_hours,
        waiting_period_mode=bi.waiting_period_mode or "time_deductible",
        indemnity_period_hours=bi.indemnity_period_days * HOURS_PER_DAY,
    )


def expected_claim_payment(risk: CoverageRisk, terms: PolicyTerms) -> float:
    """Expected payment of one claim of this coverage alone, under the terms (same order as
    `egide.domain.terms.apply_terms`)."""
    cov = terms.coverages.get(risk.coverage)
    if cov is None:
        return 0.0
    sub_ded, sub_lim = float(cov.sub_deductible), float(cov.limit)
    ded, agg = float(terms.deductible), float(terms.aggregate_limit)
    if risk.coverage != "business_interruption":
        width = min(sub_lim - ded, agg)
        return lognormal.layer(risk.mu, risk.sigma, sub_ded + ded, width)
    r = risk.hourly_loss
    if r <= 0:
        return 0.0
    mu_money = risk.mu + math.log(r)  # outage money = hours x hourly loss
    wait_money = float(terms.waiting_period_hours) * r
    period_money = float(terms.indemnity_period_hours) * r
    if terms.waiting_period_mode == "trigger":
        # paid from hour 0 once the outage exceeds the wait, at most the indemnity period
        width = min(period_money - sub_ded, sub_lim) - ded
        return lognormal.layer_above_trigger(
            risk.mu + math.log(r), risk.sigma, sub_ded + ded, min(width, agg), wait_money
        )
    width = min(period_money - sub_ded, sub_lim) - ded
    return lognormal.layer(mu_money, risk.sigma, wait_money + sub_ded + ded, min(width, agg))


# --------------------------------------------------------------------------- risk model v2


@dataclass(frozen=True)
class CostLine:
    """One coverage's ground-up cost in one incident: fixed + median x exp(sigma z), at most
    `cap` (records held); for business interruption `median` is outage HOURS (fixed 0)."""

    coverage: str
    fixed: float
    median: float
    sigma: float
    cap: float = math.inf


@dataclass(frozen=True)
class IncidentRisk:
    """Yearly frequency of one incident type and its comonotone costs (COVERAGES order)."""

    incident: str
    frequency: float
    costs: tuple[CostLine, ...]
    factors: tuple[Factor, ...] = ()


def bi_hourly_loss(app: Application, model: RiskModel) -> float:
    """Risk model v2: lost gross margin per CALENDAR hour (annual margin / 8 760 h)."""
    e = app.establishment
    return float(e.annual_revenue * model.kinds[e.type].gross_margin_rate) / HOURS_PER_YEAR


def incident_profile(app: Application, model: RiskModel) -> dict[str, IncidentRisk]:
    """Frequency and costs of each incident type for this establishment (risk model v2)."""
    im = model.incident_model
    assert im is not None, "incident_profile needs risk model v2"
    e, s, h = app.establishment, app.security, app.history
    kind = model.kinds[e.type]
    revenue = float(e.annual_revenue)
    size_factor = _clip_ratio(revenue / float(kind.reference_revenue), model) ** float(
        model.frequency_size_exponent
    )
    sev_mult = dict.fromkeys(COVERAGES, 1.0)
    sev_factors: dict[str, list[Factor]] = {c: [] for c in COVERAGES}
    for code, control in model.controls.items():
        if control_present(s, code):
            continue
        for cov, factor in control.severity.items():
            sev_mult[cov] *= float(factor)
            sev_factors[cov].append(Factor(code, "severity", float(factor)))
    records = float(max(e.patient_records, 1))
    out: dict[str, IncidentRisk] = {}
    for inc_code, inc in im.incidents.items():
        factors: list[Factor] = [Factor("size", "frequency", size_factor)]
        mult = size_factor
        for code, control in model.controls.items():
            if inc_code in control.frequency and not control_present(s, code):
                f = float(control.frequency[inc_code])
                mult *= f
                factors.append(Factor(code, "frequency", f))
        for code, graded in model.graded.items():
            if inc_code not in graded.applies_to:
                continue
            badness = graded.badness(graded_value(s, code))
            if badness > 0:
                f = 1.0 + float(badness) * (float(graded.worst_factor) - 1.0)
                mult *= f
                factors.append(Factor(code, "frequency", f))
        hist = 1.0 + float(model.incident_factor) * h.incidents_last_5_years
        if inc.history == "ransomware":
            hist += float(model.ransomware_factor) * h.ransomware_last_5_years
        hist = min(hist, float(model.history_max_factor))
        if hist > 1.0:
            mult *= hist
            factors.append(Factor("history", "frequency", hist))
        frequency = float(im.frequency[e.type][inc_code]) * mult
        exposed = math.exp(float(inc.records_mu)) * records / float(inc.records_reference)
        lines: list[CostLine] = []
        for cov in COVERAGES:
            cost = inc.costs.get(cov)
            if cost is None:
                continue
            factors.extend(sev_factors[cov])
            if cost.exposure == "outage_hours":
                hours = float(im.outage_hours[e.type][inc_code]) * sev_mult[cov]
                lines.append(CostLine(cov, 0.0, hours, float(inc.outage_sigma)))
                continue
            fixed = float(cost.fixed) * (revenue / REVENUE_UNIT) ** float(cost.fixed_exponent)
            b = float(cost.exponent)
            if cost.exposure == "revenue":
                median = float(cost.median) * (revenue / REVENUE_UNIT) ** b * sev_mult[cov]
                lines.append(CostLine(cov, fixed, median, float(cost.sigma)))
                continue
            unit = float(cost.median) * sev_mult[cov]
            median = unit * (exposed / RECORDS_UNIT) ** b
            cap = fixed + unit * (records / RECORDS_UNIT) ** b
            lines.append(CostLine(cov, fixed, median, b * float(inc.records_sigma), cap))
        out[inc_code] = IncidentRisk(inc_code, frequency, tuple(lines), tuple(factors))
    return out


def incident_components(
    risk: IncidentRisk, terms: PolicyTerms, hourly_loss: float
) -> list[tuple[str, lognormal.Component]]:
    """Each triggered coverage's payment p(z) = min(max(a + b e^(kz) - t, 0), l) under the
    terms, as (a, b, k, t, l): sub-deductible and sub-limit; for BI the waiting and indemnity
    periods in calendar hours times the hourly loss (time deductible)."""
    out: list[tuple[str, lognormal.Component]] = []
    for line in risk.costs:
        cov = terms.coverages.get(line.coverage)
        if cov is None:
            continue
        sd, sl = float(cov.sub_deductible), float(cov.limit)
        if line.coverage == "business_interruption":
            r = hourly_loss
            if r <= 0:
                continue
            wait = float(terms.waiting_period_hours) * r
            period = float(terms.indemnity_period_hours) * r
            comp = (0.0, line.median * r, line.sigma, wait + sd, min(sl, max(period - sd, 0.0)))
        else:
            cap = min(sl, max(line.cap - sd, 0.0))
            comp = (line.fixed, line.median, line.sigma, sd, cap)
        out.append((line.coverage, comp))
    return out


def expected_incident_payment(
    risk: IncidentRisk, terms: PolicyTerms, hourly_loss: float
) -> dict[str, float]:
    """Expected payment of one incident per coverage, after one deductible for the incident
    (taken in coverage order) and the aggregate as a cap on the claim (cut from the last
    coverage back): coverage c gets G(first c) - G(first c-1), G(prefix) = E[min(max(sum of the
    prefix's payments - D, 0), A)] in closed form (`lognormal.comonotone_layer`)."""
    ded, agg = float(terms.deductible), float(terms.aggregate_limit)
    comps = incident_components(risk, terms, hourly_loss)
    out: dict[str, float] = {}
    before = 0.0
    for i, (code, _) in enumerate(comps):
        upto = lognormal.comonotone_layer([c for _, c in comps[: i + 1]], ded, agg)
        out[code] = max(upto - before, 0.0)
        before = upto
    return out


@dataclass(frozen=True)
class CoveragePrice:
    code: str
    label: str
    limit: Decimal
    deductible: Decimal  # the policy deductible (per claim, shared by the coverages)
    sub_deductible: Decimal
    frequency: float
    mean_severity: float
    expected_claim: float
    expected_loss: Decimal
    premium: Decimal  # before tax, after loadings and the minimum premium
    factors: tuple[Factor, ...]


@dataclass(frozen=True)
class Price:
    coverages: tuple[CoveragePrice, ...]
    expected_loss: Decimal
    loadings: Mapping[str, Decimal]  # amount of each loading in the premium before tax
    minimum_premium: Decimal
    minimum_applied: bool
    net: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def price(app: Application, product: Product) -> Price:
    if product.risk_model.incident_model is not None:
        return _price_incidents(app, product)
    model = product.risk_model
    profile = risk_profile(app, model)
    terms = policy_terms(app, product)
    divisor = 1.0 - float(product.loading_total)
    systemic = systemic_load(app, product, terms)  # {} without systemic events (2026.1)
    raw: list[tuple[str, CoverageRisk, float, Decimal, Decimal]] = []
    for code in COVERAGES:
        risk = profile[code]
        per_claim = expected_claim_payment(risk, terms)
        el = cents(risk.frequency * per_claim)
        premium = cents((risk.frequency * per_claim + systemic.get(code, 0.0)) / divisor)
        raw.append((code, risk, per_claim, el, premium))
    gross = sum((p for *_, p in raw), ZERO)
    minimum = product.minimum_premium[app.establishment.type]
    premiums = [p for *_, p in raw]
    minimum_applied = gross < minimum
    if minimum_applied:
        premiums = _spread(minimum, premiums)
    coverages = []
    for (code, risk, per_claim, el, _), premium in zip(raw, premiums, strict=True):
        cov = product.coverages[code]
        coverages.append(
            CoveragePrice(
                code=code,
                label=cov.label,
                limit=terms.coverages[code].limit,
                deductible=terms.deductible,
                sub_deductible=terms.coverages[code].sub_deductible,
                frequency=risk.frequency,
                mean_severity=risk.mean_severity,
                expected_claim=per_claim,
                expected_loss=el,
                premium=premium,
                factors=risk.factors,
            )
        )
    return _priced(product, coverages, minimum, minimum_applied, systemic)


def _price_incidents(app: Application, product: Product) -> Price:
    """`price` under risk model v2: per coverage, the sum over incident types of frequency x
    expected payment; premium = (expected loss + systemic load) / (1 - loadings), the minimum
    premium, then the increased-limit factor of the chosen limit."""
    model = product.risk_model
    profile = incident_profile(app, model)
    terms = policy_terms(app, product)
    hourly = bi_hourly_loss(app, model)
    divisor = 1.0 - float(product.loading_total)
    el = dict.fromkeys(COVERAGES, 0.0)
    freq = dict.fromkeys(COVERAGES, 0.0)
    ground_up = dict.fromkeys(COVERAGES, 0.0)
    factors: dict[str, list[Factor]] = {c: [] for c in COVERAGES}
    for risk in profile.values():
        for code, paid in expected_incident_payment(risk, terms, hourly).items():
            el[code] += risk.frequency * paid
        for line in risk.costs:
            mean = (
                line.fixed + lognormal.mean(math.log(line.median), line.sigma)
                if line.median > 0
                else line.fixed
            )
            if line.coverage == "business_interruption":
                mean *= hourly
            freq[line.coverage] += risk.frequency
            ground_up[line.coverage] += risk.frequency * min(mean, line.cap)
            factors[line.coverage].extend(
                Factor(f"{risk.incident}:{f.code}", f.applies_to, f.value) for f in risk.factors
            )
    # the systemic load (egide.domain.systemic_load): each coverage's expected payment in the
    # product's systemic events, {} for a product that names none
    systemic = systemic_load(app, product, terms)
    raw = [cents((el[code] + systemic.get(code, 0.0)) / divisor) for code in COVERAGES]
    gross = sum(raw, ZERO)
    minimum = product.minimum_premium[app.establishment.type]
    minimum_applied = gross < minimum
    premiums = _spread(minimum, raw) if minimum_applied else raw
    ilf = product.increased_limit_factor(app.establishment.type, app.cover.limit)
    before_ilf = sum(premiums, ZERO)
    if ilf != 1.0:
        premiums = _spread(cents(before_ilf * Decimal(repr(ilf))), premiums)
    coverages = []
    for code, premium in zip(COVERAGES, premiums, strict=True):
        cov = product.coverages[code]
        f = freq[code]
        coverages.append(
            CoveragePrice(
                code=code,
                label=cov.label,
                limit=terms.coverages[code].limit,
                deductible=terms.deductible,
                sub_deductible=terms.coverages[code].sub_deductible,
                frequency=f,
                mean_severity=ground_up[code] / f if f > 0 else 0.0,
                expected_claim=el[code] / f if f > 0 else 0.0,
                expected_loss=cents(el[code]),
                premium=premium,
                factors=tuple(factors[code]),
            )
        )
    extra = {"increased_limit": sum(premiums, ZERO) - before_ilf}
    return _priced(product, coverages, minimum, minimum_applied, systemic, extra)


def _priced(
    product: Product,
    coverages: list[CoveragePrice],
    minimum: Decimal,
    minimum_applied: bool,
    systemic: Mapping[str, float],
    extra: Mapping[str, Decimal] | None = None,
) -> Price:
    """The price from its coverage premiums: the loadings' amounts in the net premium (then
    `extra`, then the systemic load when the product has one), the tax. `expected_loss` is the
    non-systemic expected loss before the aggregate (the sum of the coverages' cents)."""
    net = sum((c.premium for c in coverages), ZERO)
    expected = sum((c.expected_loss for c in coverages), ZERO)
    loadings = {
        "expenses": cents(net * product.expenses),
        "broker_commission": cents(net * product.broker_commission),
        "profit_and_risk": cents(net * product.profit_and_risk),
        **(extra or {}),
    }
    if systemic:
        loadings[SYSTEMIC_LOADING] = cents(sum(systemic.values()))
    tax = cents(net * product.tax_rate)
    return Price(
        coverages=tuple(coverages),
        expected_loss=expected,
        loadings=loadings,
        minimum_premium=minimum,
        minimum_applied=minimum_applied,
        net=net,
        tax_rate=product.tax_rate,
        tax=tax,
        total=net + tax,
    )


def _spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` over the coverages in proportion to `weights` (equally if all are zero), to
    the cent, the rounding remainder going to the largest share."""
    n = len(weights)
    base = sum(weights, ZERO)
    shares = [cents(total * w / base) for w in weights] if base > 0 else [cents(total / n)] * n
    biggest = max(range(n), key=lambda i: shares[i])
    shares[biggest] += total - sum(shares, ZERO)
    return shares
