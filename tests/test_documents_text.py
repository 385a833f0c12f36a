"""No control or bidirectional formatting character reaches Typst: a stored name with a U+202E
prints « Cabinet du Dr Martin » in its logical order, whatever document shows it."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import typst
from pypdf import PdfReader

from egide.documents import (
    ChangeView,
    InsuredView,
    render_attestation,
    render_avenant,
    render_conditions_particulieres,
    render_decompte,
    render_proposition,
)
from egide.documents.text import neutralise, neutralise_data
from tests.test_documents import (
    INSURED,
    attestation_view,
    avenant_view,
    conditions_view,
    decompte_view,
    proposition_view,
)

FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
NAME = "Cabinet du Dr Martin"
HOSTILE = InsuredView(
    name="\u202eCabinet du Dr Martin",
    kind_label="Cabinet\u2066 médical\u2069",
    siret="73282932000074",
    address="12 rue\x08 de la\u202d Santé\x1b[2J\n75011\x0c Paris",
)

DOCUMENTS: dict[str, Callable[[InsuredView], bytes]] = {
    "proposition": lambda i: render_proposition(proposition_view(insured=i)),
    "conditions particulières": lambda i: render_conditions_particulieres(
        conditions_view(insured=i)
    ),
    "avenant": lambda i: render_avenant(avenant_view(insured=i)),
    "attestation": lambda i: render_attestation(attestation_view(insured=i)),
    "décompte": lambda i: render_decompte(decompte_view(insured=i)),
}


def raw_text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_a_right_to_left_override_in_a_stored_name_does_not_reverse_it(document: str) -> None:
    text = raw_text(DOCUMENTS[document](HOSTILE))
    assert NAME in text
    assert "nitraM rD ud tenibaC" not in text
    assert "Cabinet médical" in text
    assert "12 rue de la Santé[2J" in text  # the escape character dropped, the rest kept
    assert not FORBIDDEN.search(text.replace("\n", ""))


def test_every_string_handed_to_typst_is_neutralised_including_the_changes_of_an_avenant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = avenant_view(
        insured=HOSTILE,
        reason="Modification\u202e demandée",
        changes=(ChangeView("Raison sociale", "Clinique\u0085A", "\u2067Clinique B\u2069"),),
    )
    payload: list[str] = []
    real = typst.compile

    def spy(*args: Any, **kwargs: Any) -> Any:
        payload.append(kwargs["sys_inputs"]["data"])
        return real(*args, **kwargs)

    monkeypatch.setattr(typst, "compile", spy)  # the module egide.documents.render calls
    render_avenant(view)
    data = json.loads(payload[0])
    assert data["insured"]["name"] == NAME
    assert data["reason"] == "Modification demandée"
    assert data["changes"][0]["old"] == "Clinique A"
    assert data["changes"][0]["new"] == "Clinique B"
    assert not FORBIDDEN.search(payload[0].replace("\n", ""))  # JSON's own layout aside


def test_neutralise_keeps_letters_of_every_script_and_their_no_break_spaces() -> None:
    for text in ("Clinique Saint-Jean", "مستشفى الأمل", "בית חולים", "24\u202f570,00\u202f€"):
        assert neutralise(text) == text
    assert neutralise("a\tb\r\nc\u2028d\u2029e") == "a b  c d e"
    assert neutralise("\x00\x07\x1b\x7f\x9b") == ""
    assert neutralise_data({"k\u202e": ["x\u2066", ("y\x00",)], "n": 3, "z": None}) == {
        "k": ["x", ["y"]],
        "n": 3,
        "z": None,
    }


def test_a_long_name_neutralised_is_still_the_same_name() -> None:
    insured = replace(INSURED, name="\u202d" + "Clinique" * 30)
    assert "Clinique" * 30 in raw_text(
        render_attestation(attestation_view(insured=insured))
    ).replace("\n", "")
