"""Chinese word segmentation with jieba: ``segment``, ``segment_with_offsets`` and ``Segmenter``.

jieba is imported and its dictionary loaded on first use only. Every ``Segmenter`` owns its own
``jieba.Tokenizer``, so user dictionaries never leak into the default instance (or into the global
``jieba.dt`` that other code may use). jieba's progress messages are silenced by raising the level
of jieba's own logger only; the global logging configuration is untouched.

Whitespace-only tokens (the spaces jieba returns between words) are dropped from the results.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from ..utils.validation import check_choice, check_text

MODES = ("precise", "search", "all")
UserDict = Union[str, os.PathLike, Sequence[Union[str, Tuple[str, int]]], None]
_MAX_CACHED = 4


class Segmenter:
    """An isolated jieba segmenter, optionally with a user dictionary.

    Args:
        user_dict: a jieba user-dictionary file (lines ``word [freq] [tag]``), or a list of words
            (``"word"`` or ``(word, freq)``).
    """

    def __init__(self, user_dict: UserDict = None) -> None:
        if isinstance(user_dict, (str, os.PathLike)):
            path = Path(user_dict)
            if not path.is_file():
                raise FileNotFoundError(f"user dictionary {path} not found")
            self._words: Optional[List[Tuple[str, Optional[int]]]] = None
            self._path: Optional[Path] = path
        elif user_dict is None:
            self._words, self._path = None, None
        elif isinstance(user_dict, (list, tuple)):
            self._words, self._path = parse_user_words(user_dict), None
        else:
            raise TypeError(f"`user_dict` must be a path or a list of words, got {type(user_dict).__name__}")
        self._jieba = None
        self._lock = threading.Lock()

    def _tokenizer(self):
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)  # jieba's own logger only
                    tok = jieba.Tokenizer()
                    tok.initialize()
                    if self._path is not None:
                        tok.load_userdict(str(self._path))
                    for word, freq in self._words or ():
                        tok.add_word(word, freq)
                    self._jieba = tok
        return self._jieba

    def cut(self, text: str, mode: str = "precise", hmm: bool = True, protect: bool = False) -> List[str]:
        """Words of ``text`` (``[]`` for an empty string); ``protect`` keeps URLs, emails,
        ``@mentions`` and ``#hashtags#`` as single words."""
        if protect:
            return [w for w, _, _ in self.cut_with_offsets(text, mode, hmm, protect=True)]
        return [w for w in self._cut(text, mode, hmm) if w and not w.isspace()]

    def _cut_protected(self, text: str, mode: str, hmm: bool) -> List[Tuple[str, int, int]]:
        from .normalize import protected_spans

        out, pos = [], 0
        for start, end in protected_spans(text) + [(len(text), len(text))]:
            if start > pos:  # the free text before a protected unit
                out.extend((w, pos + a, pos + b) for w, a, b in self.cut_with_offsets(text[pos:start], mode, hmm))
            if end > start:
                out.append((text[start:end], start, end))
            pos = end
        return out

    def _cut(self, text: str, mode: str, hmm: bool) -> Iterable[str]:
        check_text(text, "text")
        check_choice(mode, "mode", MODES)
        if not text:
            return []
        tok = self._tokenizer()
        if mode == "precise":
            return tok.cut(text, cut_all=False, HMM=hmm)
        if mode == "search":
            return tok.cut_for_search(text, HMM=hmm)
        return tok.cut(text, cut_all=True)

    def cut_with_offsets(self, text: str, mode: str = "precise", hmm: bool = True,
                         protect: bool = False) -> List[Tuple[str, int, int]]:
        """``(word, start, end)`` with ``text[start:end] == word``."""
        check_text(text, "text")
        check_choice(mode, "mode", MODES)
        if not text:
            return []
        if protect:
            return self._cut_protected(text, mode, hmm)
        if mode == "all":  # jieba.tokenize has no full mode: locate the (overlapping) words in order
            out, pos = [], 0
            for word in self._cut(text, mode, hmm):
                start = text.find(word, pos)
                if start < 0 or not word or word.isspace():
                    continue
                out.append((word, start, start + len(word)))
                pos = start
            return out
        jieba_mode = "default" if mode == "precise" else "search"
        return [
            (w, s, e) for w, s, e in self._tokenizer().tokenize(text, mode=jieba_mode, HMM=hmm) if not w.isspace()
        ]


def parse_user_words(words: Sequence[Union[str, Tuple[str, int]]]) -> List[Tuple[str, Optional[int]]]:
    out = []
    for i, item in enumerate(words):
        if isinstance(item, str):
            word, freq = item, None
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            word, freq = item
        else:
            raise TypeError(f"`user_dict[{i}]` must be a word or a (word, freq) pair, got {item!r}")
        check_text(word, f"user_dict[{i}]", allow_empty=False)
        if freq is not None and (isinstance(freq, bool) or not isinstance(freq, int) or freq < 0):
            raise ValueError(f"`user_dict[{i}]` frequency must be a non-negative int, got {freq!r}")
        out.append((word.strip(), freq))
    return out


_default: Optional[Segmenter] = None
_cache: "OrderedDict[tuple, Segmenter]" = OrderedDict()
_cache_lock = threading.Lock()


def get_segmenter(user_dict: UserDict = None) -> Segmenter:
    """The shared default segmenter, or a cached isolated one for ``user_dict``."""
    global _default
    if user_dict is None:
        if _default is None:
            with _cache_lock:
                if _default is None:
                    _default = Segmenter()
        return _default
    if isinstance(user_dict, (str, os.PathLike)):
        path = Path(user_dict).resolve()
        mtime = path.stat().st_mtime_ns if path.is_file() else None
        key: tuple = ("path", str(path), mtime)
    elif isinstance(user_dict, (list, tuple)):
        key = ("words",) + tuple(parse_user_words(user_dict))
    else:
        raise TypeError(f"`user_dict` must be a path or a list of words, got {type(user_dict).__name__}")
    with _cache_lock:
        seg = _cache.get(key)
        if seg is None:
            seg = Segmenter(user_dict)
            _cache[key] = seg
            while len(_cache) > _MAX_CACHED:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
        return seg


def segment(text: str, mode: str = "precise", user_dict: UserDict = None, hmm: bool = True,
            protect: bool = False) -> List[str]:
    """Segment Chinese ``text`` into words.

    ``mode``: ``"precise"`` (jieba default), ``"search"`` (adds sub-words of long words) or ``"all"``
    (every dictionary word, overlapping). ``user_dict``: path or word list (an isolated, cached
    segmenter is used; the default one is not changed). ``protect``: URLs, emails, ``@mentions`` and
    ``#hashtags#`` stay single words. ``None`` -> ValueError, non-str -> TypeError.
    """
    check_text(text, "text")
    return get_segmenter(user_dict).cut(text, mode=mode, hmm=hmm, protect=protect)


def segment_with_offsets(
    text: str, mode: str = "precise", user_dict: UserDict = None, hmm: bool = True, protect: bool = False
) -> List[Tuple[str, int, int]]:
    """Like :func:`segment` but ``(word, start, end)`` char offsets into ``text``."""
    check_text(text, "text")
    return get_segmenter(user_dict).cut_with_offsets(text, mode=mode, hmm=hmm, protect=protect)


PAIR_SEPARATOR = "|||"  # between the two texts of a pair in :func:`lexical_words`


def lexical_words(text: str, pair: Optional[str] = None) -> List[str]:
    """Lower-cased jieba words of ``text`` (then ``|||`` and ``pair``'s words): what lexical models
    (:mod:`roots_zh.training.tfidf_teacher`, ``TextClassifier``'s lexical leg) read."""
    words = [w.lower() for w in segment(text)]
    return words if pair is None else words + [PAIR_SEPARATOR] + [w.lower() for w in segment(pair)]


def lexical_documents(texts: Sequence[str], pairs: Optional[Sequence[str]] = None) -> List[List[str]]:
    """:func:`lexical_words` of each text (of each pair when ``pairs`` is given)."""
    if pairs is None:
        return [lexical_words(t) for t in texts]
    return [lexical_words(a, b) for a, b in zip(texts, pairs)]


def word_ngrams(words: Sequence[str]) -> List[str]:
    """The words and their neighbouring pairs (``"a b"``): the lexical features of one text."""
    return list(words) + [a + " " + b for a, b in zip(words, words[1:])]
