"""Text from a device or a file made safe to show: control and format characters removed."""
from __future__ import annotations

import unicodedata


def clean(text) -> str:
    """`text` without control or format characters (escape sequences, bidi overrides, NUL, ...);
    tabs and newlines become spaces. For any screen: terminals act on control characters."""
    return "".join(c if unicodedata.category(c)[0] != "C" else (" " if c in "\t\n\r" else "")
                   for c in str(text))
