"""Hostile values for the fuzz tests of the input readers and the CLI's printing, and the plumbing
to put one of them at one leaf of a valid document and write it as YAML or JSON.

Values that hit a defect still open are kept out of these lists (each has its own strict xfail
test in tests/test_fuzz_inputs.py, which says what to add back here once it is fixed).
"""

from __future__ import annotations

import copy
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import yaml
from hypothesis import strategies as st

# ---------------------------------------------------------------- hostile text

CONTROLS = [
    "\x00",  # NUL
    "\x07",  # bell
    "\x08",  # backspace
    "\r",  # carriage return: rewrites the line on a terminal
    "\x1b",
    "\x1b[2J",  # clear the screen
    "\x1b[31mred",
    "\x1b]8;;file:///etc/passwd\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
    "\x1b]0;title\x07",  # set the window title
    "\x7f",
    "\x85",  # NEL, a C1 control
    "\x9b2J",  # CSI as one C1 byte
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u200e",  # left-to-right mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u2069",  # pop directional isolate
    "\u2028",  # line separator
    "\ufeff",  # BOM / zero-width no-break space
    "\U000e0041",  # tag character
    "\ue000",  # private use
    "\uffff",  # non-character
]
MARKUP = [
    "[/bold]",
    "[bold]",
    "[/]",
    "[link=file:///etc/passwd]x[/link]",
    "[red",
    "[on red]x",
    "[@click=app.quit]x[/]",
    "\\[bold]",
    "[#ff0000]x",
]
TYPST = ["#set page(width: 1pt)", '#read("/etc/passwd")', "$", "$x^2$", "\\", "#", "*b*", "_i_"]
TYPST += ["`raw`", "<label>", "@ref", "// c", "/* c", "]", "{", "}", "#{}"]
EMOJI = [":smile:", ":pile_of_poo:", ":red_circle:", ":warning:"]
OTHER = [
    "",
    " ",
    "   ",
    "\n",
    "\t",
    "Établissement — Santé",
    "𝕏𝔜",
    "诊所",
    "e\u0301",  # combining accent
    "'",
    '"',
    "%s",
    "{0}",
    "{}",
    "%(x)s",
    "null",
    "~",
    "yes",
    "NULL",
    "None",
    "--help",
    "-",
    "'; DROP TABLE quotes; --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "a\\b",
]
PIECES = CONTROLS + MARKUP + TYPST + EMOJI + OTHER


def hostile_text(max_pieces: int = 6) -> st.SearchStrategy[str]:
    """Any text: the pieces above, random Unicode (no surrogates: a file cannot carry them in
    UTF-8; `RAW` escapes them), mixtures of both, and long strings."""
    mixed = st.lists(
        st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), min_size=1, max_size=max_pieces
    ).map("".join)
    return st.one_of(
        st.sampled_from(PIECES),
        mixed,
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=150, max_size=400),
        st.integers(201, 5000).map(lambda n: ("[/bold]x" * n)[:n]),
    )


def printable_text() -> st.SearchStrategy[str]:
    """Text for the printing tests (trailing backslashes included: they once broke `styled`)."""
    return hostile_text()


UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def unsafe(text: str) -> list[str]:
    """The characters of printed output that could drive a terminal or reorder what it shows
    (controls, format characters such as bidi overrides and zero-width ones, surrogates,
    private-use, unassigned, line and paragraph separators); a newline or a tab is fine. The
    tests' own oracle, independent of egide.cli.common.visible."""
    return [ch for ch in text if ch not in "\n\t" and unicodedata.category(ch) in UNSAFE_CATEGORIES]


# ---------------------------------------------------------------- other hostile values


@dataclass(frozen=True)
class Raw:
    """A value written into the file as this exact text: what Python cannot dump (an escaped lone
    surrogate, a YAML tag or alias, a duplicate key). ``{key}`` is the leaf's key, JSON-quoted."""

    json: str
    yaml: str | None = None  # None: the same text (JSON tokens are YAML flow too)

    def text(self, fmt: str, key: object) -> str:
        template = self.json if fmt == "json" or self.yaml is None else self.yaml
        return template.replace("{key}", json.dumps(str(key)))


class Delete:
    """The leaf is removed (a missing answer)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = Delete()

RAW = [
    Raw('"\\ud800"'),  # a lone surrogate, escaped
    Raw('"x\\udfffy"'),
    Raw('"\\u0000\\u001b[2J"'),
    Raw("1, {key}: 2"),  # the same key twice
    Raw('{"a": 1, "a": 2}'),  # a duplicate key below the leaf
    Raw("NaN", ".nan"),
    Raw("Infinity", ".inf"),
    Raw("-Infinity", "-.inf"),
    Raw("1e400"),  # a float that overflows to infinity
    Raw("-0"),
    Raw("9" * 4000),  # a long integer literal (4300 digits is Python's limit: known defect)
    Raw("[1, 2", "[1, 2"),  # malformed
    Raw('"unterminated', '"unterminated'),
    Raw("null, null", "!!python/object/apply:os.system [echo pwned]"),
    Raw("true", "!!binary aGVsbG8="),
    Raw("[]", "!!set {a, b}"),
    Raw('"2027-01-01"', "!!timestamp 2027-01-01"),
    Raw("0", "&a [*a]"),  # a recursive alias
    Raw("0", "*nowhere"),  # an undefined alias
    Raw("0", "!!str"),
    Raw("0", "<<: {a: 1}"),
]

NUMBERS: list[object] = [
    0,
    -1,
    -0.0,
    1,
    7,
    2**31,
    2**63,
    2**64,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    5e-324,
    0.1,
    1.005,
    float("nan"),
    float("inf"),
    float("-inf"),
]
NUMERIC_TEXT = [
    "1e999999",
    "-1e999999",
    "1e-999999",
    "NaN",
    "sNaN",
    "Infinity",
    "-inf",
    "0x10",
    "1_000",
    "١٢٣",  # Arabic-Indic digits
    " 12 ",
    "12,5",
    "1.000.000",
    "∞",
    "1/2",
    "+5",
    "- 5",
    "0e0",
    "1" * 300,
]
DATE_TEXT = [
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:00:00-12:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T12:00:00-12:00",
    "2027-02-30T10:00:00+01:00",
    "2027-02-21T07:30:00",  # naive
    "2027-02-21T07:30:00+25:00",
    "2027-13-01",
    "2027-02-21",
    "0000-00-00",
    "2027-02-21T07:30:00Z",
    "now",
]
PARIS_WINTER = timezone(timedelta(hours=1))
DATES: list[object] = [
    datetime(2027, 2, 21, 7, 30, tzinfo=PARIS_WINTER),
    datetime(2027, 2, 21, 7, 30),  # naive
    datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    date(2027, 2, 21),
    date(9999, 12, 31),
    date(1, 1, 1),
]
WRONG_TYPES: list[object] = [
    None,
    True,
    False,
    [],
    {},
    [1, "a"],
    {"a": 1},
    {"nested": {"deep": [1, {"x": None}]}},
    [[[]]],
]


def nested(depth: int, mapping: bool) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"k": value} if mapping else [value]
    return value


def hostile_values() -> st.SearchStrategy[object]:
    """Any hostile value for one field, escaped lone surrogates included."""
    raws = list(RAW)
    return st.one_of(
        hostile_text(),
        st.sampled_from(NUMBERS),
        st.integers(),
        st.floats(),
        st.sampled_from(NUMERIC_TEXT),
        st.sampled_from(DATE_TEXT),
        st.sampled_from(DATES),
        st.sampled_from(WRONG_TYPES),
        st.tuples(st.integers(1, 70), st.booleans()).map(lambda a: nested(*a)),
        st.sampled_from(raws),
        st.just(DELETE),
    )


def cell_values() -> st.SearchStrategy[str]:
    """Hostile text for one cell of an OED CSV file."""
    return st.one_of(
        hostile_text(),
        st.sampled_from(NUMERIC_TEXT),
        st.sampled_from(DATE_TEXT),
        st.integers().map(str),
        st.floats().map(repr),
    )


# ---------------------------------------------------------------- documents

Path_ = tuple[str | int, ...]


def leaf_paths(node: object, prefix: Path_ = ()) -> list[Path_]:
    """Every leaf of a mapping/list document (an empty mapping or list is a leaf too)."""
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in leaf_paths(v, (*prefix, k))]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node) for p in leaf_paths(v, (*prefix, i))]
    return [prefix]


def dotted(path: Path_) -> str:
    """("costs", 0, "amount") -> "costs[0].amount", as the readers name fields."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def replaced(doc: dict[str, Any], path: Path_, value: object) -> dict[str, Any]:
    """A copy of `doc` with the leaf at `path` set to `value` (removed when it is DELETE)."""
    out = copy.deepcopy(doc)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_PLACEHOLDER = "FUZZRAWVALUE"


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dump(doc: dict[str, Any], path: Path_, fmt: str, ascii_only: bool = False) -> str:
    """The document as YAML or JSON text, the leaf at `path` written verbatim if it is `Raw`."""
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    raw = node.get(path[-1]) if isinstance(node, dict) else None
    raw = node[path[-1]] if isinstance(node, list) and path[-1] < len(node) else raw
    if isinstance(raw, Raw):
        doc = replaced(doc, path, _PLACEHOLDER)
    if fmt == "json":
        text = json.dumps(doc, ensure_ascii=ascii_only, indent=2, default=_jsonable)
        if isinstance(raw, Raw):
            text = text.replace(f'"{_PLACEHOLDER}"', raw.text(fmt, path[-1]), 1)
        return text
    text = yaml.safe_dump(
        doc,
        allow_unicode=not ascii_only,
        sort_keys=False,
        default_flow_style=isinstance(raw, Raw),
        width=1 << 30,
    )
    if isinstance(raw, Raw):
        text = text.replace(_PLACEHOLDER, raw.text(fmt, path[-1]), 1)
    return text
