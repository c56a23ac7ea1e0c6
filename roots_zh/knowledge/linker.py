"""Dictionary entity linking: find mentions of known entity names/aliases in Chinese text.

An Aho-Corasick automaton (the ``pyahocorasick`` package, extra ``roots_zh[knowledge]``) finds every
occurrence in one pass; a pure-Python trie is the fallback when the package is absent. Selection is
leftmost-longest (forward maximum matching): scanning left to right, the longest name starting at
the first matchable position wins, and matches never overlap. Offsets are character offsets into the
original text (``text[start:end]``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Tuple, Union

from ..utils.validation import check_choice, check_text


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    text: str  # the surface form in the original text
    name: str  # the dictionary key it matched (lower-cased when ``lowercase``)
    entities: Tuple[Any, ...]  # payloads registered for that name (ids, canonical names, ...)


def _fold(text: str) -> str:
    """Lower-case without changing the length (characters whose lower form is longer stay as is)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class _Trie:
    """Pure-Python fallback: a dict trie; ``matches`` yields the longest name at each start."""

    END = "\0end"

    def __init__(self) -> None:
        self.root: Dict[str, Any] = {}

    def add(self, key: str) -> None:
        node = self.root
        for ch in key:
            node = node.setdefault(ch, {})
        node[self.END] = True

    def leftmost_longest(self, text: str) -> List[Tuple[int, int]]:
        spans, i, n = [], 0, len(text)
        while i < n:
            node, best, j = self.root, 0, i
            while j < n:
                node = node.get(text[j])
                if node is None:
                    break
                j += 1
                if self.END in node:
                    best = j
            if best:
                spans.append((i, best))
                i = best
            else:
                i += 1
        return spans


class EntityLinker:
    """Find known names in text. ``names``: an iterable of names or ``{name: payload or [payloads]}``.

    ``min_length``: shorter names are ignored (single characters are mostly noise in Chinese).
    ``lowercase``: match case-insensitively (offsets stay those of the original text).
    ``backend``: ``"auto"`` (pyahocorasick if installed), ``"ahocorasick"`` or ``"python"``.
    """

    def __init__(self, names: Union[Iterable[str], Mapping[str, Any]] = (), min_length: int = 2,
                 lowercase: bool = True, backend: str = "auto") -> None:
        check_choice(backend, "backend", ("auto", "ahocorasick", "python"))
        if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1:
            raise ValueError(f"`min_length` must be a positive int, got {min_length!r}")
        self.min_length, self.lowercase = min_length, bool(lowercase)
        if backend == "auto":
            try:
                import ahocorasick  # noqa: F401
                backend = "ahocorasick"
            except ImportError:
                backend = "python"
        elif backend == "ahocorasick":
            try:
                import ahocorasick  # noqa: F401
            except ImportError as err:
                raise ImportError("backend='ahocorasick' needs `pip install pyahocorasick` "
                                  "(extra roots_zh[knowledge])") from err
        self.backend = backend
        self._payloads: Dict[str, List[Any]] = {}
        self._index = None
        if isinstance(names, Mapping):
            for name, payload in names.items():
                for p in (payload if isinstance(payload, (list, tuple, set)) else [payload]):
                    self.add(name, p)
        else:
            if isinstance(names, str):
                raise TypeError("`names` must be an iterable of names or a mapping, not a single str")
            for name in names:
                self.add(name)

    def add(self, name: str, payload: Any = None) -> bool:
        """Register ``name`` (with an optional payload); returns False when it is too short."""
        check_text(name, "name")
        key = _fold(name.strip()) if self.lowercase else name.strip()
        if len(key) < self.min_length:
            return False
        payloads = self._payloads.setdefault(key, [])
        value = name if payload is None else payload
        if value not in payloads:
            payloads.append(value)
        self._index = None  # rebuilt on next use
        return True

    def __len__(self) -> int:
        return len(self._payloads)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (_fold(name) if self.lowercase else name) in self._payloads

    def _build(self):
        if self.backend == "ahocorasick":
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for key in self._payloads:
                automaton.add_word(key, len(key))
            if len(automaton):
                automaton.make_automaton()
            self._index = automaton
        else:
            trie = _Trie()
            for key in self._payloads:
                trie.add(key)
            self._index = trie
        return self._index

    def spans(self, text: str) -> List[Tuple[int, int]]:
        """Leftmost-longest non-overlapping ``(start, end)`` spans of known names in ``text``."""
        check_text(text, "text")
        index = self._index if self._index is not None else self._build()
        folded = _fold(text) if self.lowercase else text
        if self.backend == "python":
            return index.leftmost_longest(folded)
        if not len(index):
            return []
        # every match, reduced to the longest name starting at each position (pyahocorasick's own
        # iter_long() skips some matches: 10 of the 1,037 CN-DBpedia EL texts differ from the trie)
        longest: Dict[int, int] = {}
        for end, length in index.iter(folded):
            start = end + 1 - length
            if length > longest.get(start, 0):
                longest[start] = length
        spans, last_end = [], 0
        for start in sorted(longest):
            if start >= last_end:
                spans.append((start, start + longest[start]))
                last_end = start + longest[start]
        return spans

    def find(self, text: str) -> List[Mention]:
        """Mentions in ``text`` with their offsets and registered payloads."""
        out = []
        for start, end in self.spans(text):
            surface = text[start:end]
            key = _fold(surface) if self.lowercase else surface
            out.append(Mention(start, end, surface, key, tuple(self._payloads[key])))
        return out
