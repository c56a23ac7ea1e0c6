"""Text normalisation with a char-level map back to the original string.

Rules (applied per code point, so every output char comes from exactly one input char):

* full-width ASCII U+FF01–FF5E -> U+0021–007E (``，`` -> ``,``, ``Ａ`` -> ``A``);
* every space separator (category Zs: U+3000, NBSP, U+2000–200A, ...), ``\\t``, ``\\n``, ``\\r`` and the
  line/paragraph separators U+2028/U+2029 -> ``" "`` (a separator must keep words apart);
* removed: other control chars (Cc), format chars (Cf: zero-width U+200B–200F, bidi marks
  U+202A–202E and U+2066–206F, U+2060–2064, BOM U+FEFF, soft hyphen, ...) and lone surrogates (Cs).

Everything else (CJK, emoji, traditional characters, accents) is left as is. The same rules are
used for training the SentencePiece model and for encoding, so decode(encode(t)) == normalize(t).
"""
from __future__ import annotations

import re
from typing import List, Optional, Sequence, Tuple

# Category Cf of Unicode 14 (Python 3.11's unicodedata); tests check this against unicodedata.
_CF = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_CC = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # Cc minus \t \n \r
_SPACE = "\t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # -> " "
_SURROGATE = "\ud800-\udfff"
_REMOVE_RE = re.compile(f"[{_CF}{_CC}{_SURROGATE}]")
_SPACE_RE = re.compile(f"[{_SPACE}]")
# Anything that the normaliser changes: the fast path is "no match -> return the input".
_CHANGE_RE = re.compile(f"[{_CF}{_CC}{_SURROGATE}{_SPACE}\uff01-\uff5e]")

_FULLWIDTH_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def _map_char(ch: str) -> str:
    """Normalised form ('' = removed) of one char that matched ``_CHANGE_RE``."""
    cp = ord(ch)
    if 0xFF01 <= cp <= 0xFF5E:
        return chr(cp - 0xFEE0)
    if _SPACE_RE.match(ch):
        return " "
    return ""


def normalize_with_offsets(text: str) -> Tuple[str, Optional[List[int]]]:
    """Return ``(normalized, index_map)``.

    ``index_map[i]`` is the index in ``text`` of the char that produced ``normalized[i]``; it is
    ``None`` when nothing changed (``normalized is text``), which is the common, free case.
    """
    if _CHANGE_RE.search(text) is None:
        return text, None
    out: List[str] = []
    index_map: List[int] = []
    pos = 0
    for match in _CHANGE_RE.finditer(text):
        start = match.start()
        if start > pos:  # unchanged run: copy it in one piece
            out.append(text[pos:start])
            index_map.extend(range(pos, start))
        repl = _map_char(match.group())
        if repl:
            out.append(repl)
            index_map.append(start)
        pos = start + 1
    if pos < len(text):
        out.append(text[pos:])
        index_map.extend(range(pos, len(text)))
    return "".join(out), index_map


def normalize(text: str) -> str:
    """Normalised text (see module docstring)."""
    return normalize_with_offsets(text)[0]


def map_offsets(
    offsets: Sequence[Tuple[int, int]], index_map: Optional[List[int]], orig_len: int
) -> List[Tuple[int, int]]:
    """Map ``(start, end)`` spans in the normalised string back to the original string.

    ``orig_len`` is ``len(original)``; empty spans at the very end map to ``(orig_len, orig_len)``.
    """
    if index_map is None:
        return [(s, e) for s, e in offsets]
    out = []
    n = len(index_map)
    for start, end in offsets:
        if end > start:
            out.append((index_map[start], index_map[end - 1] + 1))
        else:
            pos = index_map[start] if start < n else orig_len
            out.append((pos, pos))
    return out
