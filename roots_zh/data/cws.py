"""Word-segmentation evaluation on the SIGHAN 2005 gold test sets (``../shared/data/cws/test``) with
the bakeoff's scoring: a predicted word counts when its ``(start, end)`` character span in the
unspaced sentence equals a gold word's span (micro precision / recall / F1 over all words).

>>> import jieba
>>> score_segmenter(jieba.lcut, "pku")["f1"]          # doctest: +SKIP
0.8183

``segment_fn(text)`` may return words (``["结巴", "分词"]``), ``(start, end)`` pairs or
``(word, start, end)`` triples (``roots_zh.tokenization.segment.segment_with_offsets``), so a ROOTS
segmentation model is scored by the same code as jieba or THULAC. Gold spans are ``("w", start, end)``
(the one span type of ``roots_zh.data.cws_corpora``); scoring is ``roots_zh.metrics.entity_prf`` on them.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..utils.env import shared_data_root
from .ner_qa import NerExample
from .readers import ReadReport

WORD = "w"
#: SIGHAN 2005 gold test files under ``<data_root>/cws/test``
SIGHAN_TEST = {"pku": "pku_test_gold.utf8", "msr": "msr_test_gold.utf8", "cityu": "cityu_test_gold.utf8",
               "as": "as_testing_gold.utf8"}


def words_to_spans(words: Sequence[str]) -> List[Tuple[str, int, int]]:
    """``("w", start, end)`` spans of consecutive words in the unspaced sentence."""
    spans, pos = [], 0
    for word in words:
        spans.append((WORD, pos, pos + len(word)))
        pos += len(word)
    return spans


def read_cws_gold(path: Union[str, Path]) -> Tuple[List[NerExample], ReadReport]:
    """A gold file (one sentence a line, words separated by any whitespace incl. U+3000) -> examples
    whose ``text`` is the unspaced sentence and ``entities`` the gold word spans. Blank lines are
    skipped; a line that is not valid UTF-8 is skipped and counted."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found")
    report, examples = ReadReport(str(path)), []
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                report.skip(line_no, f"invalid UTF-8 at byte {err.start}")
                continue
            words = line.split()  # str.split() splits on U+3000 too
            if not words:
                continue
            examples.append(NerExample("".join(words), words_to_spans(words)))
            report.read += 1
    report.log()
    return examples, report


def load_cws_test(dataset: str, data_root: Union[str, Path, None] = None) -> Tuple[List[NerExample], ReadReport]:
    """A SIGHAN 2005 test set by name (``pku``, ``msr``, ``cityu``, ``as``) or a gold file path (absolute,
    or relative to ``<data_root>/cws``, e.g. ``train/nlpcc2016_weibo/nlpcc2016-wordseg-dev.dat``)."""
    root = Path(data_root) if data_root is not None else shared_data_root()
    if dataset in SIGHAN_TEST:
        return read_cws_gold(root / "cws" / "test" / SIGHAN_TEST[dataset])
    for path in (Path(dataset), root / "cws" / dataset):
        if path.suffix and path.is_file():
            return read_cws_gold(path)
    raise ValueError(f"`dataset`={dataset!r} is not valid; choose one of {sorted(SIGHAN_TEST)} or a gold file path")


def prediction_spans(output: Any, text: str) -> List[Tuple[str, int, int]]:
    """``("w", start, end)`` spans from a segmenter's output for ``text`` (words, pairs or triples).
    Words are located left to right in ``text`` (whitespace a segmenter keeps or drops is skipped);
    a word that cannot be located falls back to the running offset."""
    items = list(output)
    if not items:
        return []
    first = items[0]
    if isinstance(first, (tuple, list)) and len(first) == 2:
        return [(WORD, int(s), int(e)) for s, e in items]
    if isinstance(first, (tuple, list)) and len(first) == 3:
        return [(WORD, int(s), int(e)) for _, s, e in items]
    spans, pos = [], 0
    for word in items:
        word = str(word)
        stripped = word.strip()
        if not stripped:
            continue
        at = text.find(stripped, pos)
        if at < 0 or text[pos:at].strip():  # not found, or found only after skipping real text
            at = pos
        spans.append((WORD, at, at + len(stripped)))
        pos = at + len(stripped)
    return spans


def score_segmenter(segment_fn: Callable[[Any], Any], dataset: str, limit: Optional[int] = None,
                    data_root: Union[str, Path, None] = None, batched: bool = False) -> Dict[str, Any]:
    """Score ``segment_fn`` on a SIGHAN 2005 test set (``pku``/``msr``/``cityu``/``as`` or a gold
    file): word-span micro ``precision``/``recall``/``f1`` (0..1), counts, ``sentences``,
    ``seconds`` and ``sentences_per_s`` (segmentation time only, after one untimed warm-up call). ``limit``: the first N sentences.
    ``batched=True``: ``segment_fn`` takes the list of texts and returns one output per text (a model's batched call)."""
    from ..metrics import entity_prf

    if not callable(segment_fn):
        raise TypeError(f"`segment_fn` must be callable, got {type(segment_fn).__name__}")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"`limit` must be a positive int or None, got {limit!r}")
    examples, _ = load_cws_test(dataset, data_root)
    examples = examples[:limit] if limit else examples
    texts = [ex.text for ex in examples]
    if texts:  # warm-up (lazy dictionary/model loads are not timed)
        segment_fn(texts[:1]) if batched else segment_fn(texts[0])
    start = time.perf_counter()
    outputs = segment_fn(texts) if batched else [segment_fn(text) for text in texts]
    seconds = time.perf_counter() - start
    pred = [prediction_spans(out, ex.text) for out, ex in zip(outputs, examples)]
    scores = entity_prf([ex.entities for ex in examples], pred)
    return {"dataset": dataset, "precision": scores["precision"], "recall": scores["recall"], "f1": scores["f1"],
            "n_gold": scores["n_gold"], "n_pred": scores["n_pred"], "sentences": len(examples),
            "seconds": round(seconds, 3), "sentences_per_s": round(len(examples) / seconds, 1) if seconds else None}
