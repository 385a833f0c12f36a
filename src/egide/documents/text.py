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
- Every other C0 / C1 control (U+0000–U+001F, U+007F–U+009F) is removed.
- Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the
  directional marks (U+200E, U+200F, U+061C) are removed: the text is shown in its logical order,
  with the Unicode bidirectional algorithm applied to the letters themselves (an Arabic or Hebrew
  name still reads right to left).
"""

from __future__ import annotations

import re
from typing import Any

_SPACE_LIKE = "\t\n\v\f\r\x85\u2028\u2029"
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_TO_SPACE = re.compile(f"[{_SPACE_LIKE}]")
_TO_DROP = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def neutralise(text: str) -> str:
    """`text` without control or bidirectional formatting characters.

    >>> neutralise("\\u202eCabinet\\u202c du\\tDr\\x00 Martin")
    'Cabinet du Dr Martin'
    """
    return _TO_DROP.sub("", _TO_SPACE.sub(" ", text))


def neutralise_data(value: Any) -> Any:
    """`neutralise` every string (keys included) in a JSON-like value of dicts, lists, tuples."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {neutralise_data(k): neutralise_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [neutralise_data(v) for v in value]
    return value
