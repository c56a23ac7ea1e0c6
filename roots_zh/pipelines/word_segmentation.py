"""`WordSegmenter`: Chinese word segmentation as a pipeline (words with character offsets).

Modes ``precise`` / ``search`` / ``all`` are jieba's dictionary segmentation; ``accurate`` runs the
shipped neural segmenter ``roots-cws`` (a character-level BMES tagger on roots-base, decoded with a
constrained Viterbi) and ``fast`` its distilled student ``roots-cws-small`` (2 layers x 128, faster
than THULAC), like PaddleNLP's fast/base/accurate modes. In every mode a user dictionary's words
win over the model, long texts are cut at sentence punctuation and rejoined, and traditional-script
input is segmented through OpenCC t2s (the tokenizer's ``normalize="auto"``) with offsets into the
original text. The neural model runs on Paddle Inference by default (an export cached under
``$ROOTS_HOME/inference``; the same words as dygraph at 1.5-1.7x its speed), ``backend="dygraph"``
keeps it in Python.
"""
from __future__ import annotations

import functools
import inspect
import logging
import re
from typing import List, Optional, Sequence, Set, Tuple, Union

import numpy as np

from ..data.cws_corpora import read_word_list
from ..data.ner_qa import viterbi_paths
from ..tokenization.segment import UserDict, parse_user_words, segment_with_offsets
from ..utils.env import BACKENDS
from ..utils.validation import check_choice, check_positive_int, check_texts

logger = logging.getLogger(__name__)
NEURAL_MODES = {"accurate": "roots-cws", "fast": "roots-cws-small"}  # mode -> its shipped model
MODES = ("precise", "search", "all", *NEURAL_MODES)
_SPACE = re.compile(r"\s")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+[”’」』）)]*")
Word = Tuple[str, int, int]


def sentence_chunks(text: str, max_chars: int) -> List[Tuple[int, int]]:
    """``(start, end)`` pieces of ``text`` cut after sentence punctuation, each at most
    ``max_chars`` long (a longer sentence is cut at ``max_chars``); they cover ``text`` exactly."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    chunks, start = [], 0
    for end in cuts:
        while end - start > max_chars:
            chunks.append((start, start + max_chars))
            start += max_chars
        if end > start:
            chunks.append((start, end))
            start = end
    return chunks


def forced_pattern(forced: Set[str]) -> Optional["re.Pattern[str]"]:
    """One regex for the ``forced`` words, longest first (None for none); built once per segmenter."""
    return re.compile("|".join(re.escape(w) for w in sorted(forced, key=len, reverse=True))) if forced else None


def force_words(text: str, words: List[Word], pattern: Optional["re.Pattern[str]"]) -> List[Word]:
    """Make every match of ``pattern`` (:func:`forced_pattern`, left to right) one word; model
    words that cross its edges are cut there."""
    if pattern is None:
        return words
    spans = [m.span() for m in pattern.finditer(text)]
    if not spans:
        return words
    bounds = {b for _, s, e in words for b in (s, e)}
    for s, e in spans:
        bounds.difference_update(range(s + 1, e))
        bounds.update((s, e))
    keep = sorted(bounds)
    return [(text[s:e], s, e) for s, e in zip(keep, keep[1:]) if text[s:e].strip()]


def merge_words(words: List[Word], vocab: "set[str]", max_parts: int = 4) -> List[Word]:
    """Join runs of 2..``max_parts`` adjacent words whose concatenation is a ``vocab`` word (the
    longest run first, left to right): a word list of another standard (e.g. MSR's, which keeps
    改革开放 whole) applied on top of the model's boundaries; model boundaries are never moved."""
    out, i = [], 0
    while i < len(words):
        for k in range(min(max_parts, len(words) - i), 1, -1):
            run = words[i:i + k]
            joined = "".join(w for w, _, _ in run)
            if joined in vocab and all(a[2] == b[1] for a, b in zip(run, run[1:])):
                out.append((joined, run[0][1], run[-1][2]))
                i += k
                break
        else:
            out.append(words[i])
            i += 1
    return out


class WordSegmenter:
    """>>> WordSegmenter().predict("结巴中文分词")
    {'text': '结巴中文分词', 'words': ['结巴', '中文', '分词'], 'offsets': [[0, 2], [2, 4], [4, 6]]}
    >>> WordSegmenter.from_pretrained(mode="accurate").predict("结巴中文分词")   # neural (roots-cws)
    >>> WordSegmenter.from_pretrained(mode="fast").predict("结巴中文分词")       # neural, small (roots-cws-small)
    """

    def __init__(self, mode: str = "precise", user_dict: UserDict = None, tagger=None,
                 max_chunk_chars: int = 120, merge_dict: UserDict = None) -> None:
        """``tagger``: a :class:`TokenClassifier` with BMES tags of one type (the neural modes).
        ``merge_dict`` (neural modes): a word list (file or list) whose words join adjacent model
        words (:func:`merge_words`), e.g. another segmentation standard's training vocabulary."""
        self.mode = check_choice(mode, "mode", MODES)
        self.user_dict = user_dict
        self.merge_vocab = _word_list(merge_dict) if merge_dict is not None else None
        self.tagger = tagger
        self.max_chunk_chars = check_positive_int(max_chunk_chars, "max_chunk_chars")
        # the user dictionary as one regex, for the model's words (jieba modes load it themselves)
        self._forced = forced_pattern(_word_list(user_dict)) if tagger is not None and user_dict is not None else None
        if tagger is not None and tagger.scheme != "BMES":
            raise ValueError(f"the segmentation tagger must use BMES tags, got {tagger.scheme}")

    @classmethod
    def from_pretrained(cls, name_or_dir=None, mode: str = "precise", user_dict: UserDict = None,
                        backend: Optional[str] = None, merge_dict: UserDict = None, standard: Optional[str] = None,
                        **options) -> "WordSegmenter":
        """jieba modes need no model; ``mode="accurate"`` / ``"fast"`` load ``name_or_dir`` (default
        ``roots-cws`` / ``roots-cws-small``; a model named without a mode is ``accurate``); traditional
        script is converted for the model unless ``normalize=`` says otherwise.

        ``backend``: ``"inference"`` runs Paddle Inference on an export of the model, made once and
        cached under ``$ROOTS_HOME/inference`` (an exported directory is used as it is); ``"onnx"`` runs
        ONNX Runtime on a dynamic-INT8 copy of that export; ``"dygraph"`` runs the Paddle model in Python.
        ``None`` (default) is ``"inference"`` (``precision="auto"``: oneDNN bfloat16 on a CPU that has it),
        falling back to dygraph with a logged warning if the export cannot be made or loaded. Inference in
        fp32 gave the same words as dygraph on all four SIGHAN 2005 test sets (21,850 sentences) at 1.5-1.7x
        its sentences/s; bf16 another 1.8x on PKU (BENCHMARKS.md counts the sentences that differ).

        ``standard``: the segmentation standard of a multi-criteria model (``tagger.criteria``, e.g.
        ``"pku"``, ``"cnc"``); default: the model's first."""
        check_choice(mode, "mode", MODES)
        if backend is not None:
            check_choice(backend, "backend", BACKENDS)
        tagger = None
        if mode in NEURAL_MODES or name_or_dir is not None:
            options.setdefault("normalize", "auto")
            tagger = _load_tagger(name_or_dir or NEURAL_MODES[mode], backend, options)
            mode = mode if mode in NEURAL_MODES else "accurate"
            if standard is not None:
                tagger.criterion = standard
        elif standard is not None:
            raise ValueError("`standard` applies to the neural modes ('accurate', 'fast')")
        return cls(mode, user_dict, tagger, merge_dict=merge_dict)

    @property
    def runtime(self) -> Optional[str]:
        """The neural model's runtime (``"inference"``, ``"onnx"`` or ``"dygraph"``); ``None`` without one (jieba)."""
        return None if self.tagger is None else self.tagger.runtime

    def export(self, save_directory) -> None:
        """Export the neural tagger for Paddle Inference (neural modes only)."""
        if self.tagger is None:
            raise ValueError("only the neural modes ('accurate', 'fast') have a model to export")
        self.tagger.export(save_directory)

    # ------------------------------------------------------------------ neural modes
    def _neural(self, texts: List[str], batch_size: int) -> List[List[Word]]:
        chunks, owners = [], []  # model inputs and (text index, offset of the chunk in its text)
        for t, text in enumerate(texts):
            for s, e in sentence_chunks(text, self.max_chunk_chars):
                chunks.append(text[s:e])
                owners.append((t, s))
        probs_list, encs = self.tagger.predict_tag_probs(chunks, batch_size=batch_size) if chunks else ([], [])
        tags = self.tagger.tags
        paths = viterbi_paths([probs[enc["units"]] for probs, enc in zip(probs_list, encs)], tags, "BMES",
                              crf=self.tagger.crf_scores)
        spans: List[List[Tuple[int, int]]] = [[] for _ in texts]
        ends = word_end_mask(tuple(tags))
        for (t, base), path, enc in zip(owners, paths, encs):
            spans[t] += bmes_words(ends[path], enc["offsets"], enc["units"], base)
        out = []
        for text, text_spans in zip(texts, spans):
            words = [(text[s:e], s, e) for s, e in _split_at_spaces(text, text_spans)]
            if self.merge_vocab:
                words = merge_words(words, self.merge_vocab)
            out.append(force_words(text, words, self._forced))
        return out

    # ------------------------------------------------------------------ predict
    def predict(self, texts: Union[str, Sequence[str]], mode: Optional[str] = None, batch_size: int = 64):
        """A dict for a str, a list for a list: ``{"text", "words", "offsets"}`` (``end`` exclusive)."""
        items, single = check_texts(texts, "texts")
        mode = check_choice(mode or self.mode, "mode", MODES)
        if mode in NEURAL_MODES:
            if self.tagger is None:
                raise ValueError(f"mode={mode!r} needs the neural model: WordSegmenter.from_pretrained(mode={mode!r})")
            if mode != self.mode and self.mode in NEURAL_MODES:
                raise ValueError(f"this segmenter holds the model of mode={self.mode!r}; load "
                                 f"WordSegmenter.from_pretrained(mode={mode!r}) for {mode!r}")
            all_words = self._neural(items, check_positive_int(batch_size, "batch_size"))
        else:
            all_words = [segment_with_offsets(text, mode=mode, user_dict=self.user_dict) for text in items]
        out = [{"text": text, "words": [w for w, _, _ in words], "offsets": [[s, e] for _, s, e in words]}
               for text, words in zip(items, all_words)]
        return out[0] if single else out


def _load_tagger(name_or_dir, backend: Optional[str], options: dict):
    """The BMES :class:`TokenClassifier` on ``backend`` (``None``: inference, else dygraph; see
    :meth:`WordSegmenter.from_pretrained`)."""
    from ..hub import resolve_model_dir
    from .token_classification import TokenClassifier

    name_or_dir = resolve_model_dir(name_or_dir)  # an unknown model is an error here, never a fallback
    if backend in ("dygraph", "onnx"):  # an explicit choice: no fallback (onnx runs the cached export)
        return TokenClassifier.from_pretrained(name_or_dir, backend=backend, **options)
    try:  # bf16 where the CPU has it: the same F1 on PKU (94.01 vs 94.00) at 1.8x the sentences/s
        return TokenClassifier.from_pretrained(name_or_dir, backend="inference", **{"precision": "auto", **options})
    except Exception as exc:  # noqa: BLE001 - the default falls back (logged); an explicit choice raises
        if backend == "inference":
            raise
        logger.warning("word segmentation: Paddle Inference is not available for %s (%s: %s); running dygraph",
                       name_or_dir, type(exc).__name__, exc)
    from ..inference import Predictor

    runtime_only = set(inspect.signature(Predictor).parameters)  # e.g. threads=: not for dygraph
    return TokenClassifier.from_pretrained(name_or_dir, backend="dygraph",
                                           **{k: v for k, v in options.items() if k not in runtime_only})


def _word_list(words: UserDict) -> Set[str]:
    """Words of a user dictionary: a list, or a file of ``word [freq] [tag]`` lines."""
    if isinstance(words, (list, tuple)):
        return {w for w, _ in parse_user_words(words)}
    return read_word_list(words)


def _split_at_spaces(text: str, spans: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Words never hold whitespace: cut spans at it and drop whitespace-only pieces."""
    if _SPACE.search(text) is None:  # nothing to cut (spans are never empty)
        return spans
    out = []
    for s, e in spans:
        for m in re.finditer(r"\S+", text[s:e]):
            out.append((s + m.start(), s + m.end()))
    return out


@functools.lru_cache(maxsize=8)
def word_end_mask(tags: Tuple[str, ...]) -> np.ndarray:
    """``bool[T]``: the BMES tags after which a word ends (``E``, ``S``; ``O`` is a word of its own)."""
    return np.array([tag[:1] in ("E", "S", "O") for tag in tags])


def bmes_words(ends: np.ndarray, offsets: Sequence[Tuple[int, int]], units: Sequence[int], shift: int = 0
               ) -> List[Tuple[int, int]]:
    """Char spans (moved by ``shift``) of the words of one tagged sequence: ``ends[i]`` says whether
    unit ``i`` (token ``units[i]``, span ``offsets[units[i]]``) ends a word (:func:`word_end_mask` of
    its tag); trailing units without an end form a last word."""
    words, first = [], 0
    for last in np.flatnonzero(ends).tolist():
        words.append((offsets[units[first]][0] + shift, offsets[units[last]][1] + shift))
        first = last + 1
    if first < len(units):
        words.append((offsets[units[first]][0] + shift, offsets[units[-1]][1] + shift))
    return words
