"""Free text: no control or invisible character, a bound per field, one rule for every field.

The rule (egide.domain.text) on single characters of every refused category and on French
text; every text field of the application and of the claim declaration (found from the
examples and the domain's dataclasses, so that a new field is caught); keys of the input; the
services on SQLite and PostgreSQL: a hostile actor, note, key, number or name is refused before
any work and nothing is stored.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from egide.cli.main import app
from egide.db.base import Base
from egide.db.uow import SqlUnitOfWork
from egide.domain import claims as claims_domain
from egide.domain.application import Establishment, Technology, parse_application
from egide.domain.claims import merge_declaration, parse_declaration
from egide.domain.errors import FieldError, InvalidInput
from egide.domain.product import Product
from egide.domain.text import (
    ACTOR_MAX,
    BLANKS,
    CONTROL_CHARACTER,
    FORBIDDEN_CATEGORIES,
    IDEMPOTENCY_KEY_MAX,
    MAX_LENGTH,
    NAME_MAX,
    NUMBER_MAX,
    PARAMETERS,
    RUN_ID_MAX,
    SPACE_SEPARATORS,
    check_parameters,
    check_text,
    describe,
    is_forbidden,
    require_parameters,
    require_text,
    shown,
    shown_key,
)
from egide.services import claims, idempotency, policies, portfolio, quotes
from tests.appdata import applications, base_application, mutate
from tests.conftest import EXAMPLES, make_uow
from tests.fakes import OPERATOR
from tests.test_claims_domain import BRIEF_CLAIM, claim
from tests.test_claims_services import bind_policy

runner = CliRunner()

# One character of each kind the rule refuses, with the name the message must give.
REFUSED: list[tuple[str, str]] = [
    ("\x00", "U+0000 NULL"),
    ("\x07", "U+0007 ALERT"),
    ("\x08", "U+0008 BACKSPACE"),
    ("\x1b", "U+001B ESCAPE"),
    ("\x7f", "U+007F DELETE"),
    ("\x85", "U+0085 NEXT LINE"),
    ("\x9b", "U+009B CONTROL SEQUENCE INTRODUCER"),
    ("\u202a", "U+202A LEFT-TO-RIGHT EMBEDDING"),
    ("\u202b", "U+202B RIGHT-TO-LEFT EMBEDDING"),
    ("\u202c", "U+202C POP DIRECTIONAL FORMATTING"),
    ("\u202d", "U+202D LEFT-TO-RIGHT OVERRIDE"),
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("\u2068", "U+2068 FIRST STRONG ISOLATE"),
    ("\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
    ("\u200e", "U+200E LEFT-TO-RIGHT MARK"),
    ("\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u200c", "U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "U+200D ZERO WIDTH JOINER"),
    ("\u2060", "U+2060 WORD JOINER"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u00ad", "U+00AD SOFT HYPHEN"),
    ("\U000e0041", "U+E0041 TAG LATIN CAPITAL LETTER A"),
    ("\ue000", "U+E000 <private use>"),
    ("\U000f0000", "U+F0000 <private use>"),
    ("\ud800", "U+D800 <surrogate>"),
    ("\u0378", "U+0378 <unassigned>"),
    ("\uffff", "U+FFFF <unassigned>"),
    ("\u2028", "U+2028 LINE SEPARATOR"),
    ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
]

# Text of French establishments and claims handlers: all accepted.
FRENCH = [
    "Clinique Saint-Éloi",
    "Cabinet du Dr Lœuvre-Müller",
    "Pharmacie de l'Étang",
    "Pharmacie de l’Étang",  # typographic apostrophe
    "ŒUVRE HOSPITALIÈRE «\u202fLes Près\u202f»",  # guillemets with narrow no-break spaces
    "EHPAD «\u00a0Les Tilleuls\u00a0» — 2ᵉ étage",  # no-break spaces, em dash, superscript
    "Centre d'imagerie Çà et là",
    "Laboratoire ÆSCULAPE n° 3",
    "Cafe\u0301 des Soins",  # a combining acute accent
    "Maison de santé 🏥",  # an emoji is a symbol (So), accepted alone
    "Ελληνικά, العربية, 中文",  # other scripts
]

# The forbidden characters a random test may put anywhere: TAB, LF and CR are forbidden in a
# single-line field but stripped at its ends (a YAML block scalar ends with LF), so they are
# tested on their own.
forbidden_chars = st.characters(categories=list(FORBIDDEN_CATEGORIES), exclude_characters="\t\n\r")


def rules(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in errors}


def message(errors: list[FieldError], field: str, rule: str) -> str:
    return next(e.message for e in errors if (e.field, e.rule) == (field, rule))


def printable(text: str) -> bool:
    """No character of `text` is one the rule refuses (LF and TAB included)."""
    return not any(is_forbidden(ch) for ch in text)


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(("ch", "name"), REFUSED, ids=[n for _, n in REFUSED])
def test_every_control_or_invisible_character_is_refused_and_named_by_its_code_point(
    ch: str, name: str
) -> None:
    for multiline in (False, True):
        errors = check_text("f", f"Clinique{ch}du Parc", max_length=200, multiline=multiline)
        assert rules(errors) == {("f", CONTROL_CHARACTER)}
        assert message(errors, "f", CONTROL_CHARACTER) == (
            f"contains {name}, a control or invisible character"
        )


@given(st.text(max_size=20), forbidden_chars, st.text(max_size=20))
def test_a_character_of_a_refused_category_is_refused_wherever_it_stands(
    before: str, ch: str, after: str
) -> None:
    errors = check_text("f", before + ch + after, max_length=100)
    assert ("f", CONTROL_CHARACTER) in rules(errors)
    first = next(c for c in before + ch if is_forbidden(c))
    assert f"U+{ord(first):04X}" in message(errors, "f", CONTROL_CHARACTER)


@given(st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), max_size=200))
def test_letters_marks_digits_punctuation_symbols_and_spaces_are_text(value: str) -> None:
    assert check_text("f", value, max_length=200) == []


@pytest.mark.parametrize("value", FRENCH)
def test_french_text_with_accents_apostrophes_oe_guillemets_and_emoji_is_accepted(
    value: str,
) -> None:
    assert check_text("f", value, max_length=200) == []
    assert require_text("f", value, max_length=200) == value


def test_emoji_joined_by_a_zero_width_joiner_are_refused_for_the_joiner() -> None:
    errors = check_text("f", "soignant 👩\u200d⚕️", max_length=200)
    assert "U+200D ZERO WIDTH JOINER" in message(errors, "f", CONTROL_CHARACTER)


def test_tab_and_line_feed_only_in_a_multi_line_field_and_never_a_carriage_return() -> None:
    assert check_text("note", "ligne 1\n\tligne 2", max_length=100, multiline=True) == []
    for ch, name in (("\n", "U+000A LINE FEED"), ("\t", "U+0009 CHARACTER TABULATION")):
        errors = check_text("actor", f"alice{ch}bob", max_length=100)
        assert f"contains {name}" in message(errors, "actor", CONTROL_CHARACTER)
    errors = check_text("note", "ligne 1\rligne 2", max_length=100, multiline=True)
    assert "U+000D CARRIAGE RETURN" in message(errors, "note", CONTROL_CHARACTER)


def test_several_forbidden_characters_name_the_first_and_count_the_others() -> None:
    errors = check_text("f", "\x1b[2J\x1b[H\u202eabc\x00", max_length=100)
    assert message(errors, "f", CONTROL_CHARACTER) == (
        "contains U+001B ESCAPE, a control or invisible character (and 2 other such characters)"
    )


def test_the_bound_counts_characters_not_bytes_and_is_inclusive() -> None:
    assert check_text("f", "é" * 200, max_length=200) == []  # 400 bytes in UTF-8
    errors = check_text("f", "é" * 201, max_length=200)
    assert rules(errors) == {("f", MAX_LENGTH)}
    assert message(errors, "f", MAX_LENGTH) == "is longer than 200 characters"


def test_a_required_text_must_not_be_blank() -> None:
    assert rules(check_text("f", " \u00a0\u3000", max_length=10, required=True)) == {
        ("f", "required")
    }
    assert check_text("f", "", max_length=10) == []
    with pytest.raises(InvalidInput) as exc:
        require_text("actor", "   ", max_length=10)
    assert rules(exc.value.errors) == {("actor", "required")}


def test_the_blanks_stripped_are_the_ascii_ones_and_every_unicode_space_separator() -> None:
    zs = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Zs"}
    assert set(SPACE_SEPARATORS) == zs
    assert set(BLANKS) == zs | {"\t", "\n", "\r"}


def test_names_of_controls_without_a_unicode_name_come_from_their_aliases() -> None:
    for code in range(0x20):
        name = describe(chr(code)).split(" ", 1)[1]
        assert unicodedata.lookup(name) == chr(code)  # the alias names that very character
    assert describe("\x9f") == "U+009F <control>"


def test_an_untrusted_value_is_echoed_escaped_and_cut() -> None:
    assert shown_key("ab\u202ecd\x1b") == "ab\\u202ecd\\u001b"
    assert shown_key("\U000e0041") == "\\U000e0041"
    assert shown_key("nom") == "nom"
    assert shown_key(12) == "12"
    assert len(shown_key("k" * 10_000)) == 60 and shown_key("k" * 10_000).endswith("…")
    assert printable(shown("\x1b[2J" * 100)) and len(shown("x" * 10_000)) == 60


# --------------------------------------------------------------------------- parameters


def test_the_parameter_bounds_never_exceed_the_columns_that_store_them() -> None:
    columns = {
        (t.name, c.name): c.type.length
        for t in Base.metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, sa.String) and not isinstance(c.type, sa.Text)
    }
    stored_in = {
        ACTOR_MAX: [(t, c) for (t, c) in columns if c in ("actor", "reviewed_by")],
        NAME_MAX: [(t, c) for (t, c) in columns if c == "establishment_name"],
        IDEMPOTENCY_KEY_MAX: [
            ("idempotency_keys", "key"),
            ("policy_transactions", "idempotency_key"),
        ],
        NUMBER_MAX: [(t, "number") for t in ("quotes", "policies", "claims")]
        + [("claim_payments", "policy_number"), ("policies", "quote_number")],
        RUN_ID_MAX: [("portfolio_runs", "run_id")],
    }
    assert len(stored_in[ACTOR_MAX]) >= 6  # quotes, claims, payments, events, transactions, runs
    for bound, places in stored_in.items():
        for place in places:
            assert bound <= columns[place], place
    assert idempotency.MAX_KEY_LENGTH == IDEMPOTENCY_KEY_MAX
    assert PARAMETERS["actor"].max_length == ACTOR_MAX
    assert PARAMETERS["idempotency_key"].max_length == IDEMPOTENCY_KEY_MAX


def test_parameters_are_checked_by_name_none_is_not_given_a_blank_key_is_no_key() -> None:
    assert check_parameters(actor="alice", idempotency_key="", underwriter_note=None) == []
    errors = check_parameters(actor="a" * 121, note="ok\n\tsuite", reason="\x1b[2J")
    assert rules(errors) == {("actor", MAX_LENGTH), ("reason", CONTROL_CHARACTER)}
    assert rules(check_parameters(actor="")) == {("actor", "required")}
    assert rules(check_parameters(actor=12)) == {("actor", "type")}  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        check_parameters(colour="red")
    with pytest.raises(InvalidInput) as exc:
        require_parameters(actor="\x00", idempotency_key="k" * 101)
    assert rules(exc.value.errors) == {
        ("actor", CONTROL_CHARACTER),
        ("idempotency_key", MAX_LENGTH),
    }


# --------------------------------------------------------------------------- the application

# Every text field of the application, with a valid value for those the base data lacks.
APPLICATION_TEXT: dict[str, str] = {
    "establishment.name": "Cabinet médical",
    "establishment.type": "cabinet_medical",
    "establishment.siret": "73282932000074",
    "establishment.finess": "750053126",
    "establishment.postcode": "75011",
    "establishment.city": "Paris",
    "technology.software_vendor": "weda",
    "technology.cloud_host": "ovhcloud",
    "technology.email_vendor": "microsoft",
    "technology.remote_access_vendor": "stormshield",
    "establishment.nis2_category": "not_subject",
}
APPLICATION_FILES = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "cases").glob("*.yaml"))


def text_leaves(data: object, prefix: str = "") -> Iterator[str]:
    """The dotted paths of the strings in plain data (list items as ``[i]``)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from text_leaves(v, f"{prefix}{k}.")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from text_leaves(v, f"{prefix.rstrip('.')}[{i}].")
    elif isinstance(data, str):
        yield prefix.rstrip(".")


def str_fields(cls: type) -> set[str]:
    """The fields of a dataclass that hold text (str, str | None, tuple[str, ...])."""
    hints = typing.get_type_hints(cls)
    out = set()
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint)
        if hint is str or str in args or (typing.get_origin(hint) is tuple and args[0] is str):
            out.add(f.name)
    return out


def test_the_listed_application_text_fields_are_every_string_of_the_examples_and_the_model() -> (
    None
):
    seen = set()
    for path in APPLICATION_FILES:
        seen |= set(text_leaves(yaml.safe_load(path.read_text(encoding="utf-8"))))
    seen |= set(text_leaves(base_application()))
    assert len(APPLICATION_FILES) >= 15 and len(seen) >= 5
    assert seen <= set(APPLICATION_TEXT)
    # the model: a new text attribute needs its place here (and its reader) to pass
    model = {f"establishment.{n}" for n in str_fields(Establishment)} | {
        f"technology.{n}" for n in str_fields(Technology)
    }
    assert model == set(APPLICATION_TEXT)


def full_application() -> dict[str, Any]:
    data = base_application()
    for field, value in APPLICATION_TEXT.items():
        section, key = field.split(".")
        data.setdefault(section, {}).setdefault(key, value)
    return data


def test_the_full_application_with_every_text_field_is_valid(product: Product) -> None:
    app_ = parse_application(full_application(), product)
    assert app_.establishment.city == "Paris" and app_.technology.cloud_host == "ovhcloud"


@pytest.mark.parametrize("field", sorted(APPLICATION_TEXT))
@pytest.mark.parametrize(("ch", "name"), [REFUSED[0], REFUSED[3], REFUSED[11], REFUSED[18]])
def test_each_text_field_of_the_application_refuses_a_control_character_naming_itself(
    product: Product, field: str, ch: str, name: str
) -> None:
    data = full_application()
    section, key = field.split(".")
    value = data[section][key]
    data[section][key] = value[:2] + ch + value[2:]
    with pytest.raises(InvalidInput) as exc:
        parse_application(data, product, "app.yaml")
    assert rules(exc.value.errors) == {(field, CONTROL_CHARACTER)}
    assert name in message(exc.value.errors, field, CONTROL_CHARACTER)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_random_forbidden_character_in_a_random_text_field_is_refused_naming_that_field(
    product: Product, data: st.DataObject
) -> None:
    app_data = data.draw(applications(product))
    field = data.draw(st.sampled_from(sorted(APPLICATION_TEXT)))
    section, key = field.split(".")
    base = str(app_data.get(section, {}).get(key) or APPLICATION_TEXT[field])
    ch = data.draw(forbidden_chars)
    at = data.draw(st.integers(0, len(base)))
    app_data.setdefault(section, {})[key] = base[:at] + ch + base[at:]
    with pytest.raises(InvalidInput) as exc:
        parse_application(app_data, product)
    assert (field, CONTROL_CHARACTER) in rules(exc.value.errors)
    assert f"U+{ord(ch):04X}" in message(exc.value.errors, field, CONTROL_CHARACTER)
    assert all(printable(str(e)) for e in exc.value.errors)


@pytest.mark.parametrize(
    ("field", "bound"),
    [("establishment.name", 200), ("establishment.city", 100), ("technology.cloud_host", 80)],
)
def test_text_fields_of_the_application_are_bounded(
    product: Product, field: str, bound: int
) -> None:
    data = full_application()
    section, key = field.split(".")
    data[section][key] = "é" * bound
    parse_application(data, product)
    data[section][key] = "é" * (bound + 1)
    with pytest.raises(InvalidInput) as exc:
        parse_application(data, product)
    assert rules(exc.value.errors) == {(field, MAX_LENGTH)}
    assert message(exc.value.errors, field, MAX_LENGTH) == f"is longer than {bound} characters"


def test_a_french_name_reads_back_unchanged_and_surrounding_blanks_go(product: Product) -> None:
    for name in FRENCH:
        data = mutate(base_application(), "establishment.name", f" {name}\u00a0\n")
        assert parse_application(data, product).establishment.name == name
    block = yaml.safe_load("name: |\n  Clinique du Parc\n")["name"]  # ends with LF
    data = mutate(base_application(), "establishment.name", block)
    assert parse_application(data, product).establishment.name == "Clinique du Parc"


@pytest.mark.parametrize(
    ("prefix", "where"),
    [("", lambda d: d), ("establishment.", lambda d: d["establishment"])],
    ids=["top", "establishment"],
)
def test_an_unknown_key_with_controls_is_refused_escaped_never_echoed_raw(
    product: Product, prefix: str, where: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    data = base_application()
    where(data)["\x1b[2Jnom\u202e"] = "x"
    with pytest.raises(InvalidInput) as exc:
        parse_application(data, product)
    (err,) = exc.value.errors
    assert (err.field, err.rule) == (f"{prefix}\\u001b[2Jnom\\u202e", CONTROL_CHARACTER)
    assert "U+001B ESCAPE" in err.message
    assert printable(str(exc.value))


def test_an_unknown_coverage_code_with_controls_and_a_huge_key_are_escaped_and_cut(
    product: Product,
) -> None:
    data = base_application()
    data["cover"]["sublimits"] = {"ransom\x00": 1000}
    data["k" * 10_000] = 1
    with pytest.raises(InvalidInput) as exc:
        parse_application(data, product)
    assert rules(exc.value.errors) == {
        ("cover.sublimits.ransom\\u0000", CONTROL_CHARACTER),
        ("k" * 59 + "…", "unknown_key"),
    }
    assert len(str(exc.value)) < 1000


def test_the_cli_prints_a_hostile_name_by_its_code_point_and_stores_nothing(
    cli_env: str, tmp_path: Path
) -> None:
    data = mutate(base_application(), "establishment.name", "\x1b[2J\x1b[HCabinet")
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = runner.invoke(app, ["quote", "price", str(path), "--save", "--actor", "broker"])
    assert result.exit_code == 2, result.output
    assert "establishment.name" in result.output and "U+001B ESCAPE" in result.output
    assert "\x1b" not in result.output
    assert counts(SqlUnitOfWork.from_url(cli_env))["quotes"] == 0


# --------------------------------------------------------------------------- the claim declaration

# Every text field of a declaration (enumerated codes and date-times given as text included).
CLAIM_TEXT: dict[str, str] = {
    "incident.type": "ransomware",
    "incident.started_at": "2027-02-20T08:00:00+01:00",
    "incident.discovered_at": "2027-02-21T07:30:00+01:00",
    "incident.complaint_filed_at": "2027-02-22T10:00:00+01:00",
    "incident.description": "Serveurs chiffrés.\nDécouvert à 7 h 30 par l'équipe de nuit.",
    "data_breach.categories[0]": "health",
    "interruption.systems[0]": "DPI",
    "third_party_claims[0].ref": "P1",
    "third_party_claims[0].nature": "moral_harm",
    "third_party_claims[0].received_at": "2027-02-22T10:00:00+01:00",
    "third_party_claims[0].claimant": "Mme Lœuvre",
    "third_party_claims[0].description": "Préjudice moral\tallégué",
    "costs[0].id": "C1",
    "costs[0].category": "it_forensics",
    "costs[0].supplier": "Expert « SSI »",
    "costs[0].date": "2027-02-22",
    "costs[0].third_party_claim": "P1",
    "costs[0].description": "Analyse forensique",
    "notifications.cnil_at": "2027-02-22T12:00:00+01:00",
    "notifications.patients_at": "2027-02-22T12:00:00+01:00",
    "notifications.ars_at": "2027-02-22T12:00:00+01:00",
}
CLAIM_MODEL_FIELDS = {
    "incident.description": ("Incident", "description"),
    "data_breach.categories[0]": ("DataBreach", "categories"),
    "interruption.systems[0]": ("Interruption", "systems"),
    "third_party_claims[0].ref": ("ThirdPartyClaim", "ref"),
    "third_party_claims[0].claimant": ("ThirdPartyClaim", "claimant"),
    "third_party_claims[0].description": ("ThirdPartyClaim", "description"),
    "costs[0].id": ("Cost", "id"),
    "costs[0].supplier": ("Cost", "supplier"),
    "costs[0].third_party_claim": ("Cost", "third_party_claim"),
    "costs[0].description": ("Cost", "description"),
}


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = data
    parts = dotted.replace("[", ".").replace("]", "").split(".")
    for p in parts[:-1]:
        nxt = int(p) if p.isdigit() else p
        if isinstance(node, dict) and nxt not in node:
            node[nxt] = [{}] if parts[parts.index(p) + 1].isdigit() else {}
        node = node[nxt]
    last = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if isinstance(node, list) and last == len(node):
        node.append(value)
    else:
        node[last] = value


def get_path(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for p in dotted.replace("[", ".").replace("]", "").split("."):
        node = node[int(p)] if p.isdigit() else node[p]
    return node


def full_claim() -> dict[str, Any]:
    data = copy.deepcopy(BRIEF_CLAIM)
    data["data_breach"] = {"patients_affected": 10, "categories": []}
    data["interruption"]["systems"] = []
    data["third_party_claims"] = [{}]
    data["notifications"] = {}
    for field, value in CLAIM_TEXT.items():
        set_path(data, field, value)
    return data


def claim_files() -> list[Path]:
    return sorted((EXAMPLES / "claims").glob("*.yaml"))


def test_the_listed_claim_text_fields_are_every_string_of_the_examples_and_the_model() -> None:
    seen = set()
    for path in claim_files():
        seen |= set(text_leaves(yaml.safe_load(path.read_text(encoding="utf-8"))))
    seen |= set(text_leaves(BRIEF_CLAIM))
    assert len(claim_files()) >= 2 and len(seen) >= 10
    generic = {re.sub(r"\[\d+\]", "[0]", s) for s in seen}  # item [i] as item [0]
    assert generic <= set(CLAIM_TEXT)
    model = {
        (cls.__name__, name)
        for cls in (
            claims_domain.Incident,
            claims_domain.DataBreach,
            claims_domain.Interruption,
            claims_domain.ThirdPartyClaim,
            claims_domain.Cost,
        )
        for name in str_fields(cls)
    }
    assert model == set(CLAIM_MODEL_FIELDS.values())


def test_the_full_claim_with_every_text_field_is_valid_and_keeps_its_lines() -> None:
    decl = parse_declaration(full_claim())
    assert decl.incident.description == CLAIM_TEXT["incident.description"]
    assert decl.third_party_claims[0].description == "Préjudice moral\tallégué"
    crlf = full_claim()
    crlf["incident"]["description"] = "ligne 1\r\nligne 2\r\n"
    assert parse_declaration(crlf).incident.description == "ligne 1\nligne 2"


@pytest.mark.parametrize("field", sorted(CLAIM_TEXT))
@pytest.mark.parametrize(("ch", "name"), [REFUSED[0], REFUSED[3], REFUSED[11]])
def test_each_text_field_of_a_claim_refuses_a_control_character_naming_itself(
    field: str, ch: str, name: str
) -> None:
    data = full_claim()
    value = get_path(data, field)
    set_path(data, field, value[:1] + ch + value[1:])
    with pytest.raises(InvalidInput) as exc:
        parse_declaration(data, "claim.yaml")
    assert (field, CONTROL_CHARACTER) in rules(exc.value.errors), exc.value.errors
    assert name in message(exc.value.errors, field, CONTROL_CHARACTER)
    assert all(printable(str(e)) for e in exc.value.errors)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_a_random_forbidden_character_in_a_random_claim_field_is_refused_naming_it(
    data: st.DataObject,
) -> None:
    decl = full_claim()
    field = data.draw(st.sampled_from(sorted(CLAIM_TEXT)))
    value = get_path(decl, field)
    ch = data.draw(forbidden_chars)
    at = data.draw(st.integers(0, len(value)))
    set_path(decl, field, value[:at] + ch + value[at:])
    with pytest.raises(InvalidInput) as exc:
        parse_declaration(decl)
    assert (field, CONTROL_CHARACTER) in rules(exc.value.errors)
    assert f"U+{ord(ch):04X}" in message(exc.value.errors, field, CONTROL_CHARACTER)


@pytest.mark.parametrize(
    ("field", "bound"),
    [
        ("incident.description", 4000),
        ("costs[0].description", 2000),
        ("costs[0].supplier", 200),
        ("third_party_claims[0].claimant", 200),
        ("data_breach.categories[0]", 80),
    ],
)
def test_text_fields_of_a_claim_are_bounded(field: str, bound: int) -> None:
    data = full_claim()
    set_path(data, field, "x" * bound)
    parse_declaration(data)
    set_path(data, field, "x" * (bound + 1))
    with pytest.raises(InvalidInput) as exc:
        parse_declaration(data)
    assert rules(exc.value.errors) == {(field, MAX_LENGTH)}


def test_a_patch_with_a_hostile_key_or_an_unhashable_cost_id_is_refused_not_a_crash() -> None:
    base = parse_declaration(claim())
    with pytest.raises(InvalidInput) as exc:
        merge_declaration(base, {"incident\x1b[2J": {}})
    assert rules(exc.value.errors) == {("incident\\u001b[2J", CONTROL_CHARACTER)}
    with pytest.raises(InvalidInput) as exc:
        merge_declaration(base, {"costs": [{"id": ["C1"], "category": "it_forensics"}]})
    assert ("costs[3].id", "type") in rules(exc.value.errors)


# --------------------------------------------------------------------------- the services

HOSTILE: list[tuple[str, str, str]] = [
    ("nul", "Cabinet\x00Dupont", CONTROL_CHARACTER),
    ("escape", "\x1b[2J\x1b[HCabinet", CONTROL_CHARACTER),
    ("rlo", "\u202eCabinet", CONTROL_CHARACTER),
    ("10000", "a" * 10_000, MAX_LENGTH),
]


def counts(uow: SqlUnitOfWork) -> dict[str, int]:
    """Rows per table: what "nothing is stored" compares."""
    with uow:
        return {
            name: int(uow.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
        }


def test_hostile_free_text_is_refused_by_every_service_and_nothing_is_stored(
    any_url: str, product: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = make_uow(any_url)
    policy = bind_policy(uow, monkeypatch, product)  # the clock now stands in the policy year
    fresh = quotes.save_quote(uow, OPERATOR, base_application(), product, "broker")["quote_number"]
    clinic = yaml.safe_load((EXAMPLES / "clinique-120-lits.yaml").read_text(encoding="utf-8"))
    referred = quotes.save_quote(uow, OPERATOR, clinic, product, "broker")
    assert referred["status"] == "referred"
    open_claim = claims.declare_claim(
        uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), "h"
    ).claim_id
    closed = claims.declare_claim(uow, OPERATOR, policy, claim(costs=[], interruption=...), "h")
    claims.settle_claim(uow, OPERATOR, closed.claim_id, "h", final=True)
    described = claim(incident__description="...")
    before = counts(uow)

    calls: list[tuple[str, Callable[[str], object]]] = [
        ("actor", lambda v: quotes.save_quote(uow, OPERATOR, base_application(), product, v)),
        (
            "establishment.name",
            lambda v: quotes.save_quote(
                uow,
                OPERATOR,
                mutate(base_application(), "establishment.name", v),
                product,
                "broker",
            ),
        ),
        (
            "note",
            lambda v: quotes.review_quote(uow, OPERATOR, referred["quote_number"], True, v, "uw"),
        ),
        (
            "actor",
            lambda v: quotes.review_quote(uow, OPERATOR, referred["quote_number"], True, "ok", v),
        ),
        ("number", lambda v: quotes.get_quote(uow, OPERATOR, v)),
        ("actor", lambda v: policies.bind_quote(uow, OPERATOR, fresh, v)),
        (
            "idempotency_key",
            lambda v: policies.bind_quote(uow, OPERATOR, fresh, "a", idempotency_key=v),
        ),
        ("quote_number", lambda v: policies.bind_quote(uow, OPERATOR, v, "alice")),
        (
            "actor",
            lambda v: policies.endorse_policy(
                uow, OPERATOR, policy, "2027-03-01", {"security.edr": True}, v
            ),
        ),
        (
            "underwriter_note",
            lambda v: policies.endorse_policy(
                uow, OPERATOR, policy, "2027-03-01", {"security.edr": True}, "a", underwriter_note=v
            ),
        ),
        ("actor", lambda v: policies.cancel_policy(uow, OPERATOR, policy, "2027-03-01", v)),
        ("reason", lambda v: policies.cancel_policy(uow, OPERATOR, policy, "2027-03-01", "a", v)),
        ("actor", lambda v: policies.reinstate_policy(uow, OPERATOR, policy, "2027-03-01", v)),
        ("actor", lambda v: policies.renew_policy(uow, OPERATOR, policy, product, v)),
        ("number", lambda v: policies.get_policy(uow, OPERATOR, v)),
        (
            "actor",
            lambda v: claims.declare_claim(uow, OPERATOR, policy, copy.deepcopy(BRIEF_CLAIM), v),
        ),
        ("policy_number", lambda v: claims.declare_claim(uow, OPERATOR, v, claim(), "h")),
        (
            "incident.description",
            lambda v: claims.declare_claim(
                uow,
                OPERATOR,
                policy,
                {**described, "incident": {**described["incident"], "description": v}},
                "h",
            ),
        ),
        (
            "actor",
            lambda v: claims.amend_claim(uow, OPERATOR, open_claim, {"incident": {"war": True}}, v),
        ),
        ("actor", lambda v: claims.settle_claim(uow, OPERATOR, open_claim, v)),
        (
            "idempotency_key",
            lambda v: claims.settle_claim(uow, OPERATOR, open_claim, "h", idempotency_key=v),
        ),
        ("note", lambda v: claims.reopen_claim(uow, OPERATOR, closed.claim_id, v, "h")),
        ("number", lambda v: claims.get_claim(uow, OPERATOR, v)),
        ("run_id", lambda v: portfolio.get_run(uow, OPERATOR, v)),
    ]
    for field, call in calls:
        for label, value, rule in HOSTILE:
            with pytest.raises(InvalidInput) as exc:
                call(value)
            assert (field, rule) in rules(exc.value.errors), (field, label, exc.value.errors)
            assert all(printable(str(e)) for e in exc.value.errors)
    assert counts(uow) == before


def test_text_at_its_bound_is_stored_and_read_back_unchanged_on_both_backends(
    any_url: str, product: Product, frozen_now: str
) -> None:
    uow = make_uow(any_url)
    name = ("Clinique d’Œ « Près » 🏥 " * 10)[:NAME_MAX]
    actor = "é" * ACTOR_MAX
    q = quotes.save_quote(
        uow, OPERATOR, mutate(base_application(), "establishment.name", name), product, actor
    )
    stored = quotes.get_quote(uow, OPERATOR, q["quote_number"])
    assert stored["establishment"]["name"] == name
    bound = policies.bind_quote(uow, OPERATOR, q["quote_number"], actor, idempotency_key="k" * 100)
    shown_policy = policies.get_policy(uow, OPERATOR, bound["policy_number"])
    assert shown_policy["transactions"][0]["actor"] == f"local operator ({actor})"
    with uow:
        row = uow.quotes.get(q["quote_number"])
        assert row is not None and row.establishment_name == name
        assert row.actor == f"local operator ({actor})"  # the principal, the label beside it
