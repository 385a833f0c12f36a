"""Rich rendering of a quote for people (the --json output is for scripts)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from egide.cli.common import styled
from egide.domain.money import fmt_eur

if TYPE_CHECKING:
    from egide.services.quote_results import PricedQuote, Quote

_DECISION_STYLE = {"accept": "bold green", "refer": "bold yellow", "decline": "bold red"}


def eur(value: Decimal) -> str:
    return fmt_eur(value)


def render_quote(quote: PricedQuote | Quote, console: Console) -> None:
    """A priced quote, or a stored one with its number, status and review."""
    from egide.services.quote_results import PricedQuote, Quote

    saved = quote if isinstance(quote, Quote) else None
    q = saved.priced if saved is not None else quote
    assert isinstance(q, PricedQuote)
    e = q.establishment
    head = styled("[bold]{}[/] — {} — SIRET {}", e.name, e.type_label, e.siret)
    if e.finess:
        head.append(f" — FINESS {e.finess}")
    console.print(head)
    if saved is not None:
        console.print(
            styled(
                "Quote [bold]{}[/] ({}), valid until {} — product {}",
                saved.quote_number,
                saved.status,
                saved.valid_until.isoformat()[:10],
                q.product,
            )
        )
    else:
        console.print(f"Product {q.product} (not saved: add --save to store this quote)")
    style = _DECISION_STYLE[q.decision]
    console.print(
        styled(f"Decision: [{style}]{{}}[/] ({{}})", q.decision.upper(), q.decision_label)
    )
    for r in q.reasons:
        console.print(styled("  • [dim]{}[/] {}", r.code, r.message))
    if saved is not None and saved.review is not None:
        rv = saved.review.public()
        console.print(f"  Review by {rv['by']} on {str(rv['at'])[:10]}: {rv['note']}")

    score = Table(title=f"Security score: {q.security_score}/100", title_justify="left")
    score.add_column("Factor")
    score.add_column("Points", justify="right")
    score.add_column("Weight", justify="right")
    for f in q.score_factors:
        mark = "green" if f.points == f.weight else ("red" if f.points == 0 else "yellow")
        score.add_row(f.label, styled(f"[{mark}]{{}}[/]", str(f.points)), str(f.weight))
    console.print(score)

    cov = Table(title="Coverages", title_justify="left")
    for col, just in [
        ("Coverage", "left"),
        ("Limit", "right"),
        ("Deductible", "right"),
        ("Claims/yr", "right"),
        ("Expected loss", "right"),
        ("Premium (HT)", "right"),
    ]:
        cov.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in q.coverages:
        ded = eur(c.deductible)
        if c.interruption is not None:
            bi = c.interruption
            ded += f" + {bi.waiting_period_hours} h, {bi.indemnity_period_days} d"
        cov.add_row(
            c.label,
            eur(c.limit),
            ded,
            f"{c.frequency:.4f}",
            eur(c.expected_loss),
            eur(c.premium),
        )
    console.print(cov)

    p = q.premium
    tot = Table(show_header=False, box=None)
    tot.add_column()
    tot.add_column(justify="right")
    tot.add_row("Annual aggregate limit", eur(q.aggregate_limit))
    tot.add_row("Deductible per claim", eur(q.deductible))
    tot.add_row("Expected loss", eur(q.expected_loss))
    for k, v in q.loadings.items():
        tot.add_row(f"  of which loading: {k.replace('_', ' ')}", eur(v))
    if q.minimum_applied:
        tot.add_row("Minimum premium applied", eur(q.minimum_premium))
    tot.add_row("Premium before tax (HT)", eur(p.net))
    tot.add_row(f"{q.tax.name} ({q.tax.rate * 100:.2f} %)", eur(p.tax))
    tot.add_row(styled("[bold]Total (TTC)[/]"), styled("[bold]{}[/]", eur(p.total)))
    console.print(tot)

    if q.recommendations:
        rec = Table(title="Recommendations", title_justify="left")
        rec.add_column("Recommendation")
        rec.add_column("Premium change (TTC)", justify="right")
        rec.add_column("Score", justify="right")
        for advice in q.recommendations:
            rec.add_row(advice.message, eur(advice.premium_change), f"+{advice.score_change}")
        console.print(rec)
