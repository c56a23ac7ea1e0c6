"""Text normalisation with a char-level map back to the original string.

Rules (applied per code point, so every output char comes from exactly one input char):

* full-width ASCII U+FF01–FF5E -> U+0021–007E (``，`` -> ``,``, ``Ａ`` -> ``A``);
* every space separator (category Zs: U+3000, NBSP, U+2000–200A, ...), ``\\t``, ``\\n``, ``\\r`` and the
  line/paragraph separators U+2028/U+2029 -> ``" "`` (a separator must keep words apart);
* removed: other control chars (Cc), format chars (Cf: zero-width U+200B–200F, bidi marks
  U+202A–202E and U+2066–206F, U+2060–2064, BOM U+FEFF, soft hyphen, ...) and lone surrogates (Cs).

Everything else (CJK, emoji, traditional characters, accents) is left as is. The same rules are
used for training the SentencePiece model and for encoding, so decode(encode(t)) == normalize(t).

On top of these fixed rules, :class:`Normalizer` is the user-facing ``normalize=`` option of the
tokenizers and pipelines (presets ``"none" | "basic" | "web" | "t2s"``): the same width/invisible
rules as separate switches, traditional -> simplified with OpenCC (``pip install roots_zh[opencc]``),
opt-in collapsing of repeated punctuation (``！！！`` -> ``！``), and protected units (URLs, emails,
``@mentions``, ``#hashtags#``) that are never changed inside. Every step carries a char map, so
offsets computed on the normalised text map back into the original string.
"""
from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

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


# ---------------------------------------------------------------------------- configurable normaliser
IndexMap = Optional[List[int]]
Step = Callable[[str], Tuple[str, IndexMap]]

#: URLs, emails, Weibo ``#话题#`` and Twitter ``#tag``, ``@mentions``: kept as they are.
_PROTECT_RE = re.compile(  # a protected unit never holds control chars (they are removed, not kept)
    r"(?:https?|ftp)://[^\s<>\"'\x00-\x1f\x7f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\u201c\u201d\u2018\u2019]+"
    r"|www\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/[^\s<>\"'\x00-\x1f\x7f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]*)?"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
    r"|#[^#\s\x00-\x1f\x7f]{1,50}#"
    r"|@[\w\-]{1,30}"
    r"|#\w{1,50}"
)
_WIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")
_INVISIBLE_RE = re.compile(f"[{_CF}{_CC}{_SURROGATE}{_SPACE}]")
# repeated sentence punctuation; "……", "...", "——" and "--" carry meaning and are left alone
_REPEAT_RE = re.compile(r"([!?,;:~！？。，、；：～])\1+")
_T2S_SKIP_RE = re.compile(f"[{_SURROGATE}]")  # OpenCC (UTF-8) cannot take lone surrogates
_CLAUSE_RE = re.compile(r"[^，。！？；：、,.!?;:\s]*[，。！？；：、,.!?;:\s]?")

PRESETS: Dict[str, Dict[str, bool]] = {
    "none": dict(width=False, invisible=False, collapse_punct=False, t2s=False, protect=False, t2s_auto=False),
    "basic": dict(width=True, invisible=True, collapse_punct=False, t2s=False, protect=True, t2s_auto=False),
    "web": dict(width=True, invisible=True, collapse_punct=True, t2s=False, protect=True, t2s_auto=False),
    "t2s": dict(width=True, invisible=True, collapse_punct=False, t2s=True, protect=True, t2s_auto=False),
    # Taskflow's default: traditional-script input is converted, anything else is left as it is
    "auto": dict(width=False, invisible=False, collapse_punct=False, t2s=False, protect=True, t2s_auto=True),
}


def _regex_step(pattern: "re.Pattern[str]", repl: Callable[[str], str]) -> Step:
    """A step that replaces each single-char match of ``pattern`` by ``repl(char)`` ('' = drop)."""

    def step(text: str) -> Tuple[str, IndexMap]:
        if pattern.search(text) is None:
            return text, None
        out: List[str] = []
        index_map: List[int] = []
        pos = 0
        for match in pattern.finditer(text):
            start = match.start()
            if start > pos:
                out.append(text[pos:start])
                index_map.extend(range(pos, start))
            new = repl(match.group())
            out.append(new)
            index_map.extend([start] * len(new))
            pos = match.end()
        out.append(text[pos:])
        index_map.extend(range(pos, len(text)))
        return "".join(out), index_map

    return step


def _width_char(ch: str) -> str:
    return " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0)


def _invisible_char(ch: str) -> str:
    return " " if _SPACE_RE.match(ch) else ""


_width_step = _regex_step(_WIDTH_RE, _width_char)
_invisible_step = _regex_step(_INVISIBLE_RE, _invisible_char)


def _collapse_step(text: str) -> Tuple[str, IndexMap]:
    """``！！！`` -> ``！`` (the kept char maps to the first of the run)."""
    if _REPEAT_RE.search(text) is None:
        return text, None
    return _regex_step(_REPEAT_RE, lambda run: run[0])(text)


_converters: Dict[str, Any] = {}
_converter_lock = threading.Lock()


def opencc_converter(config: str = "t2s"):
    """A cached ``opencc.OpenCC(config)``; clear ImportError naming the extra when it is missing."""
    conv = _converters.get(config)
    if conv is None:
        with _converter_lock:
            conv = _converters.get(config)
            if conv is None:
                try:
                    import opencc
                except ImportError as exc:
                    raise ImportError(
                        "traditional/simplified conversion needs OpenCC: pip install 'roots_zh[opencc]' "
                        "(the `opencc` package)"
                    ) from exc
                conv = opencc.OpenCC(config)
                _converters[config] = conv
    return conv


def _aligned(src: str, dst: str, base: int) -> List[int]:
    """Char map of a converted piece: 1:1 when the lengths agree, else spread evenly (monotone)."""
    if len(src) == len(dst):
        return list(range(base, base + len(src)))
    if not src:
        return []
    return [base + min(len(src) - 1, i * len(src) // max(1, len(dst))) for i in range(len(dst))]


def is_traditional(text: str, min_ratio: float = 0.05) -> bool:
    """Whether ``text`` looks like traditional-script Chinese: OpenCC t2s changes at least
    ``min_ratio`` of its CJK characters (and at least one). False when OpenCC is not installed."""
    try:
        converted, _ = _t2s_step(text)
    except ImportError:
        return False
    return _mostly_converted(text, converted, min_ratio)


def _mostly_converted(text: str, converted: str, min_ratio: float = 0.05) -> bool:
    """``converted`` (t2s of ``text``) changed at least ``min_ratio`` of the CJK characters."""
    if converted == text:
        return False
    if len(converted) != len(text):
        return True
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    changed = sum(a != b for a, b in zip(text, converted))
    return cjk > 0 and changed / cjk >= min_ratio


def _t2s_if_traditional_step(text: str) -> Tuple[str, IndexMap]:
    """t2s for a text that looks traditional (one conversion: it decides and converts)."""
    converted, index_map = _t2s_step(text)
    return (converted, index_map) if _mostly_converted(text, converted) else (text, None)


def _t2s_step(text: str) -> Tuple[str, IndexMap]:
    """Traditional -> simplified (OpenCC ``t2s``); a length-changing phrase only blurs its clause."""
    conv = opencc_converter("t2s")
    pieces = [(m.start(), m.group()) for m in re.finditer(f"[^{_SURROGATE}]+|[{_SURROGATE}]+", text)]
    out: List[str] = []
    index_map: List[int] = []
    changed = False
    for base, piece in pieces:
        new = piece if _T2S_SKIP_RE.match(piece) else conv.convert(piece)
        if len(new) == len(piece):
            out.append(new)
            index_map.extend(range(base, base + len(piece)))
            changed = changed or new != piece
            continue
        changed = True
        for clause in _CLAUSE_RE.finditer(piece):  # rare: realign clause by clause
            if clause.group():
                part = conv.convert(clause.group())
                out.append(part)
                index_map.extend(_aligned(clause.group(), part, base + clause.start()))
    if not changed:
        return text, None
    return "".join(out), index_map


def protected_spans(text: str) -> List[Tuple[int, int]]:
    """``(start, end)`` of the URLs, emails, ``@mentions`` and ``#hashtags#`` in ``text``."""
    return [m.span() for m in _PROTECT_RE.finditer(text)]


def _compose(outer: IndexMap, inner: IndexMap) -> IndexMap:
    """Map of ``step2(step1(x))`` from the map of step1 (``outer``) and of step2 (``inner``)."""
    if inner is None:
        return outer
    if outer is None:
        return inner
    return [outer[j] for j in inner]


@dataclass(frozen=True)
class Normalizer:
    """Configurable text normalisation with a char map into the original string.

    Args:
        width: full-width ASCII (``Ａ，１``) and the ideographic space -> half-width.
        invisible: drop control / format chars (zero-width, BOM, bidi marks, NUL) and lone
            surrogates; every other space char (NBSP, tab, newline, U+2028 ...) -> ``" "``.
        collapse_punct: ``！！！`` -> ``！``, ``。。。`` -> ``。`` (not ``……`` or ``...``).
        t2s: traditional -> simplified with OpenCC (``t2s``).
        t2s_auto: the same, only for a text that looks traditional (:func:`is_traditional`).
        protect: leave URLs, emails, ``@mentions`` and ``#hashtags#`` untouched.

    Build one from a preset with ``Normalizer.from_config("web")``; ``None``/``"none"`` do nothing.
    """

    width: bool = False
    invisible: bool = False
    collapse_punct: bool = False
    t2s: bool = False
    protect: bool = False
    t2s_auto: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            if not isinstance(getattr(self, f.name), bool):
                raise TypeError(f"Normalizer `{f.name}` must be a bool, got {type(getattr(self, f.name)).__name__}")

    @classmethod
    def from_config(cls, value: Union[None, str, Dict[str, Any], "Normalizer"]) -> "Normalizer":
        """A Normalizer from ``None``, a preset name, a dict of switches or a Normalizer."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            if value not in PRESETS:
                raise ValueError(f"`normalize`={value!r} is not valid; choose one of {list(PRESETS)}")
            return cls(**PRESETS[value])
        if isinstance(value, dict):
            names = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - names)
            if unknown:
                raise ValueError(f"`normalize` has unknown keys {unknown}; known: {sorted(names)}")
            return cls(**value)
        raise TypeError(
            f"`normalize` must be None, a preset name {list(PRESETS)}, a dict or a Normalizer, "
            f"got {type(value).__name__}"
        )

    def to_config(self) -> Union[str, Dict[str, bool]]:
        """The preset name when one matches, else the dict of switches (JSON-serialisable)."""
        switches = asdict(self)
        for name, preset in PRESETS.items():
            if preset == switches:
                return name
        return switches

    @property
    def active(self) -> bool:
        """True when some step can change text."""
        return self.width or self.invisible or self.collapse_punct or self.t2s or self.t2s_auto

    def _steps(self) -> List[Step]:
        steps: List[Step] = []
        if self.invisible:
            steps.append(_invisible_step)
        if self.width:
            steps.append(_width_step)
        if self.collapse_punct:
            steps.append(_collapse_step)
        if self.t2s:
            steps.append(_t2s_step)
        elif self.t2s_auto:
            steps.append(_t2s_if_traditional_step)
        return steps

    def _run(self, text: str) -> Tuple[str, IndexMap]:
        index_map: IndexMap = None
        for step in self._steps():
            text, local = step(text)
            index_map = _compose(index_map, local)
        return text, index_map

    def with_offsets(self, text: str) -> Tuple[str, IndexMap]:
        """``(normalized, index_map)``: ``index_map[i]`` is the index in ``text`` of the char that
        produced ``normalized[i]``; ``None`` when nothing changed."""
        if not isinstance(text, str):
            raise TypeError(f"`text` must be a str, got {type(text).__name__}")
        if not self.active or not text:
            return text, None
        spans = protected_spans(text) if self.protect else []
        if not spans:
            return self._run(text)
        out: List[str] = []
        index_map: List[int] = []
        changed = False
        pos = 0
        for start, end in spans + [(len(text), len(text))]:
            if start > pos:
                part, local = self._run(text[pos:start])
                changed = changed or local is not None
                out.append(part)
                index_map.extend(pos + j for j in (local if local is not None else range(len(part))))
            out.append(text[start:end])
            index_map.extend(range(start, end))
            pos = end
        return ("".join(out), index_map) if changed else (text, None)

    def __call__(self, text: str) -> str:
        """The normalised text."""
        return self.with_offsets(text)[0]
