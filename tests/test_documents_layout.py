"""Where the text of a document lands on the page: a long name without spaces wraps inside its
box and never runs over the policy number.

The PDF is read with pypdf at the level of its content stream: each text-showing operator gives a
glyph run with its position, its width (from the font's glyph widths, ``/W``) and its text (from
the font's ``/ToUnicode`` map). Runs that touch on the same line are joined into segments, one per
stretch of text as a reader sees it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from egide.documents import (
    InsuredView,
    render_attestation,
    render_avenant,
    render_conditions_particulieres,
    render_decompte,
    render_proposition,
)
from tests.test_documents import (
    INSURED,
    attestation_view,
    avenant_view,
    conditions_view,
    decompte_view,
    proposition_view,
)

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m × n, PDF convention (row vectors): apply m, then n."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


@dataclass
class Font:
    widths: dict[int, float]  # CID -> advance in 1/1000 em
    default_width: float
    to_unicode: dict[int, str]


def _parse_font(font: Any) -> Font:
    """A Type0 / Identity-H font as Typst writes it (two-byte CIDs)."""
    font = font.get_object()
    assert font["/Subtype"] == "/Type0" and font["/Encoding"] == "/Identity-H", font
    cid_font = font["/DescendantFonts"][0].get_object()
    widths: dict[int, float] = {}
    w = list(cid_font.get("/W", []))
    i = 0
    while i < len(w):
        first = int(w[i])
        if isinstance(w[i + 1], list) or hasattr(w[i + 1], "__iter__"):
            for k, width in enumerate(w[i + 1]):
                widths[first + k] = float(width)
            i += 2
        else:
            last, width = int(w[i + 1]), float(w[i + 2])
            for cid in range(first, last + 1):
                widths[cid] = width
            i += 3
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    to_unicode: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            to_unicode[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(
            r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            start = int(dst, 16)
            for k, cid in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                to_unicode[cid] = chr(start + k)
    return Font(widths, float(cid_font.get("/DW", 1000)), to_unicode)


@dataclass
class Run:
    """Text drawn on one line: baseline at `y`, from `x0` to `x1` (points, origin bottom left)."""

    page: int
    x0: float
    x1: float
    y: float
    size: float
    text: str

    @property
    def top(self) -> float:
        return self.y + 0.8 * self.size

    @property
    def bottom(self) -> float:
        return self.y - 0.25 * self.size

    def overlaps(self, other: Run) -> bool:
        return (
            self.page == other.page
            and self.x0 < other.x1 - 0.1
            and other.x0 < self.x1 - 0.1
            and self.bottom < other.top - 0.1
            and other.bottom < self.top - 0.1
        )


def _string_bytes(item: str | bytes) -> bytes:
    """The bytes of a PDF string operand (pypdf decodes text strings; their raw bytes are the
    two-byte CIDs)."""
    if isinstance(item, bytes):
        return item
    raw = getattr(item, "original_bytes", None)
    return raw if isinstance(raw, bytes) else item.encode("latin-1")


def glyph_runs(pdf: bytes) -> list[Run]:
    """Every text-showing operator of every page, with its extent."""
    reader = PdfReader(io.BytesIO(pdf))
    runs: list[Run] = []
    for number, page in enumerate(reader.pages):
        resources: Any = page["/Resources"]
        fonts = {name: _parse_font(f) for name, f in resources["/Font"].items()}
        ctm, stack = IDENTITY, []
        tm = line = IDENTITY
        font: Font | None = None
        size = 0.0
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"q":
                stack.append(ctm)
            elif op == b"Q":
                ctm = stack.pop()
            elif op == b"cm":
                ctm = _mul(tuple(float(x) for x in operands), ctm)  # type: ignore[arg-type]
            elif op == b"BT":
                tm = line = IDENTITY
            elif op == b"Tm":
                tm = line = tuple(float(x) for x in operands)  # type: ignore[assignment]
            elif op == b"Td":
                line = _mul((1, 0, 0, 1, float(operands[0]), float(operands[1])), line)
                tm = line
            elif op == b"Tf":
                font, size = fonts[operands[0]], float(operands[1])
            elif op in (b"Tj", b"TJ"):
                assert font is not None
                items = operands[0] if op == b"TJ" else [operands[0]]
                advance, text = 0.0, []
                for item in items:
                    if isinstance(item, (str, bytes)):
                        raw = _string_bytes(item)
                        for k in range(0, len(raw), 2):
                            cid = int.from_bytes(raw[k : k + 2], "big")
                            advance += font.widths.get(cid, font.default_width) * size / 1000
                            text.append(font.to_unicode.get(cid, "\ufffd"))
                    else:
                        advance -= float(item) * size / 1000
                m = _mul(tm, ctm)
                x0, y = m[4], m[5]
                runs.append(
                    Run(number, x0, x0 + advance * m[0], y, size * abs(m[3]), "".join(text))
                )
                tm = _mul((1, 0, 0, 1, advance, 0), tm)
    return runs


def segments(runs: list[Run]) -> list[Run]:
    """Runs joined where one starts where the previous ends, on the same baseline, in reading
    order (page, top to bottom, left to right)."""
    ordered = sorted(runs, key=lambda r: (r.page, -round(r.y, 1), r.x0))
    out: list[Run] = []
    for r in ordered:
        last = out[-1] if out else None
        if (
            last is not None
            and last.page == r.page
            and abs(last.y - r.y) < 0.2
            and abs(last.size - r.size) < 0.2
            and abs(r.x0 - last.x1) < 0.5
        ):
            out[-1] = replace(last, x1=r.x1, text=last.text + r.text)
        else:
            out.append(r)
    return out


# --------------------------------------------------------------------------- the long name

LONG_NAME = ("CliniqueSaintJeanDeLaCroixDesMarais" * 6)[:200]
A4_WIDTH, MARGIN = 595.3, 2 / 2.54 * 72  # the documents' side margins are 2 cm
LONG = replace(INSURED, name=LONG_NAME, kind_label="Centre hospitalier")

DOCUMENTS: dict[str, tuple[Callable[[InsuredView], bytes], str]] = {
    "proposition": (
        lambda i: render_proposition(proposition_view(insured=i)),
        "DEV-2026-000417",
    ),
    "conditions particulières": (
        lambda i: render_conditions_particulieres(conditions_view(insured=i)),
        "POL-2026-000123",
    ),
    "avenant": (lambda i: render_avenant(avenant_view(insured=i)), "POL-2026-000123"),
    "attestation": (lambda i: render_attestation(attestation_view(insured=i)), "POL-2026-000123"),
    "décompte": (lambda i: render_decompte(decompte_view(insured=i)), "POL-2026-000123"),
}


def test_the_glyph_runs_of_a_document_have_their_true_width() -> None:
    """The measure itself: an amount right-aligned in the schedule's premium column ends where
    the column's header, also right-aligned, ends."""
    segs = segments(glyph_runs(render_conditions_particulieres(conditions_view())))
    header = next(s for s in segs if s.text.strip() == "Prime HT" and s.size == 9)
    amount = next(s for s in segs if s.text.strip().startswith("6\u202f120,00"))
    assert abs(header.x1 - amount.x1) < 0.5
    assert header.x1 - header.x0 > 20  # a real width, not zero


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_a_200_character_name_without_spaces_wraps_in_its_box_and_leaves_the_number_intact(
    document: str,
) -> None:
    render, number = DOCUMENTS[document]
    segs = segments(glyph_runs(render(LONG)))
    pieces = [s for s in segs if len(s.text) >= 8 and s.text in LONG_NAME]
    # the name is printed whole, in order, on consecutive lines of one box
    assert "".join(p.text for p in pieces) == LONG_NAME
    assert len(pieces) >= 2  # about 1 100 points long at 11 points: it cannot fit on one line
    assert len({round(p.x0, 1) for p in pieces}) == 1
    # every line of it stays within the page's margins...
    for p in pieces:
        assert p.x0 >= MARGIN - 0.5 and p.x1 <= A4_WIDTH - MARGIN + 0.5, (p.x0, p.x1, p.text)
    # ...and overprints nothing: no other text on the page shares its place
    others = [s for s in segs if s not in pieces]
    for p in pieces:
        clash = [o.text for o in others if p.overlaps(o)]
        assert not clash, f"{p.text!r} overprints {clash!r}"
    # the policy number is printed whole, and clear of the name
    numbered = [s for s in others if number in s.text]
    assert numbered
    assert not any(p.overlaps(n) for p in pieces for n in numbered)
