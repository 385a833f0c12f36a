"""`egide quote ipid|advice|handover|handover-status`: the pre-contractual documents of French
distribution law (IPID, fiche de devoir de conseil) and the record of their hand-over.

Registered on the `quote` group by `egide.cli.main` (kept apart from `quote_cmd` so that each
module stays one subject)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from egide.cli.common import (
    AsOpt,
    ForceOpt,
    JsonOpt,
    acting,
    console,
    guarded,
    output_file,
    print_json,
    styled,
    write_file,
)

if TYPE_CHECKING:
    from egide.services.distribution import HandoverStatus

app = typer.Typer(help="Pre-contractual documents (IPID, devoir de conseil) and their hand-over.")

OutputOpt = Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF.")]


@app.command("ipid")
@guarded
def ipid_cmd(
    number: str, output: OutputOpt, force: ForceOpt = False, as_email: AsOpt = None
) -> None:
    """Write the IPID (document d'information normalisé sur le produit d'assurance) of a saved
    quote's product, in French, as PDF."""
    from egide.services import distribution

    output_file(output, "--output", force)
    doc = distribution.ipid_pdf(*acting(as_email), number)
    write_file(output, doc.pdf, "--output", force)
    console.print(styled("IPID of quote {} written to {} (sha256 {}).", number, output, doc.sha256))


@app.command("advice")
@guarded
def advice_cmd(
    number: str, output: OutputOpt, force: ForceOpt = False, as_email: AsOpt = None
) -> None:
    """Write the fiche de devoir de conseil (art. L521-4 Code des assurances) of a saved quote,
    in French, as PDF."""
    from egide.services import distribution

    output_file(output, "--output", force)
    doc = distribution.advice_pdf(*acting(as_email), number)
    write_file(output, doc.pdf, "--output", force)
    console.print(
        styled(
            "Devoir de conseil of quote {} written to {} (sha256 {}).", number, output, doc.sha256
        )
    )


def _read_pdf(path: Path) -> bytes:
    """The exact bytes of a PDF handed over (read whole: the hash is of every byte; a file that
    cannot be read exits 5, naming it, at the command's boundary)."""
    return path.read_bytes()


@app.command("handover")
@guarded
def handover_cmd(
    number: str,
    channel: Annotated[
        str, typer.Option("--channel", help="cli or api: who attests the hand-over.")
    ] = "cli",
    ipid: Annotated[
        Path | None,
        typer.Option("--ipid", help="The IPID file handed over (default: as it renders now)."),
    ] = None,
    advice: Annotated[
        Path | None,
        typer.Option(
            "--advice", help="The devoir de conseil file handed over (default: as it renders now)."
        ),
    ] = None,
    as_email: AsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record that the IPID and the fiche de devoir de conseil of a quote were handed over (the
    files given must be the current documents, byte for byte)."""
    from egide.services import distribution

    uow, principal = acting(as_email)
    documents: dict[str, bytes] = {}
    if ipid is None or advice is None:
        if ipid is None:
            documents["ipid"] = distribution.ipid_pdf(uow, principal, number).pdf
        if advice is None:
            documents["devoir_de_conseil"] = distribution.advice_pdf(uow, principal, number).pdf
    if ipid is not None:
        documents["ipid"] = _read_pdf(ipid)
    if advice is not None:
        documents["devoir_de_conseil"] = _read_pdf(advice)
    status = distribution.record_handover(uow, principal, number, channel, documents)
    if json_out:
        print_json(status.public())
        return
    console.print(styled("Hand-over of quote {} recorded ({}).", number, channel))
    _print_status(status)


@app.command("handover-status")
@guarded
def handover_status_cmd(number: str, as_email: AsOpt = None, json_out: JsonOpt = False) -> None:
    """Whether both current pre-contractual documents of a quote were handed over."""
    from egide.services import distribution

    status = distribution.handover_status(*acting(as_email), number)
    if json_out:
        print_json(status.public())
        return
    _print_status(status)


def _print_status(status: HandoverStatus) -> None:
    for d in status.public()["documents"]:
        if d["handed_over"]:
            console.print(
                styled(
                    "[green]handed over[/] {}: {} by {} ({}), sha256 {}",
                    d["document"],
                    d["handed_over_at"],
                    d["by"],
                    d["channel"],
                    d["sha256"],
                )
            )
        else:
            console.print(
                styled("[red]not handed over[/] {}: sha256 {}", d["document"], d["sha256"])
            )
