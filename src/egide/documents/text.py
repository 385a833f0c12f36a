"""Text handed to Typst is neutralised here, in one place: no control characters, no bidirectional
formatting.

The input readers refuse such characters, but a record stored before they did (or written by
another path) must not print « Cabinet » reversed with a U+202E, hide a line with a U+0008, or
break the layout with a form feed. `neutralise` is applied by the renderer to every string of a
document's data (`neutralise_data`) just before it is serialised for the template, so no field can
be forgotten.

- Line, paragraph and tab separators (C0 ``\\t \\n \\v \\f \\r``, U+0085, U+2028, U+2029) become a
  plain space: a document field is one line; multi-line values (an address) are split into lines
  before this step.
- Every other character free text may not hold (`egide.domain.text.is_forbidden`, the rule the
  input readers apply: C0 / C1 controls, bidirectional embeddings, overrides, isolates and marks,
  zero-width and other invisible characters) is removed: the text is shown in its logical order,
  with the Unicode bidirectional algorithm applied to the letters themselves (an Arabic or Hebrew
  name still reads right to left).
"""

from __future__ import annotations

from typing import Any

from egide.domain.text import is_forbidden

_SPACE_LIKE = frozenset("\t\n\v\f\r\x85\u2028\u2029")


def neutralise(text: str) -> str:
    """`text` without control or bidirectional formatting characters.

    >>> neutralise("\\u202eCabinet\\u202c du\\tDr\\x00 Martin")
    'Cabinet du Dr Martin'
    """
    if text.isprintable():
        return text
    return "".join(
        " " if ch in _SPACE_LIKE else ch for ch in text if ch in _SPACE_LIKE or not is_forbidden(ch)
    )


def neutralise_data(value: Any) -> Any:
    """`neutralise` every string (keys included) in a JSON-like value of dicts, lists, tuples."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {neutralise_data(k): neutralise_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [neutralise_data(v) for v in value]
    return value
