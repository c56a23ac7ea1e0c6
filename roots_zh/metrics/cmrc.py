"""CMRC 2018 EM/F1.

``cmrc_em_f1`` replicates the official ``cmrc2018_evaluate.py`` (ymcui/cmrc2018): answers and
predictions are lower-cased and stripped, split by ``mixed_segmentation`` (each CJK char and each
listed punctuation mark is a segment; other runs go through the NLTK word tokenizer), punctuation is
removed, F1 is computed from the *longest common substring* of the segment lists, and both scores take
the max over the gold answers. Unanswered questions count as 0.
"""
from __future__ import annotations

import logging
import re
from typing import Dict, List, Mapping, Sequence

logger = logging.getLogger(__name__)

# the official list, in the official order
CMRC_PUNCT = ["-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=", "，", "。", "：", "？", "！", "“", "”",
              "；", "’", "《", "》", "……", "·", "、", "「", "」", "（", "）", "－", "～", "『", "』"]
_PUNCT_SET = set(CMRC_PUNCT)
_CJK_RE = re.compile(r"[\u4e00-\u9fa5]")
_FALLBACK_WORD_RE = re.compile(r"\w+|[^\w\s]")
_warned_no_nltk = False
_nltk_tokenizer = None


def _word_tokenize(text: str) -> List[str]:
    """``nltk.word_tokenize`` without the punkt sentence split (punkt needs a data download; the
    official script's inputs are answer-length strings, where it rarely matters)."""
    global _warned_no_nltk, _nltk_tokenizer
    if _nltk_tokenizer is None:
        try:
            from nltk.tokenize.destructive import NLTKWordTokenizer
        except ImportError:
            if not _warned_no_nltk:
                logger.warning("nltk is not installed (pip install nltk): non-Chinese runs in CMRC answers "
                               "are split by a regex, which may differ slightly from the official script")
                _warned_no_nltk = True
            return _FALLBACK_WORD_RE.findall(text)
        _nltk_tokenizer = NLTKWordTokenizer()
    return _nltk_tokenizer.tokenize(text)


def mixed_segmentation(text: str, rm_punc: bool = False) -> List[str]:
    """Official ``mixed_segmentation``: CJK chars and punctuation are single segments."""
    text = str(text).lower().strip()
    segs: List[str] = []
    buf = ""
    for char in text:
        if rm_punc and char in _PUNCT_SET:
            continue
        if _CJK_RE.search(char) or char in _PUNCT_SET:
            if buf:
                segs.extend(_word_tokenize(buf))
                buf = ""
            segs.append(char)
        else:
            buf += char
    if buf:
        segs.extend(_word_tokenize(buf))
    return segs


def remove_punctuation(text: str) -> str:
    """Official ``remove_punctuation`` (after lower-casing and stripping)."""
    return "".join(c for c in str(text).lower().strip() if c not in _PUNCT_SET)


def longest_common_substring(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common *substring* (contiguous), as the official ``find_lcs``."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                if cur[j + 1] > best:
                    best = cur[j + 1]
        prev = cur
    return best


def cmrc_f1(answers: Sequence[str], prediction: str) -> float:
    """Official ``calc_f1_score``: max over answers of the longest-common-substring F1 (0..1)."""
    scores = []
    pred_segs = mixed_segmentation(prediction, rm_punc=True)
    for answer in answers:
        ans_segs = mixed_segmentation(answer, rm_punc=True)
        lcs = longest_common_substring(ans_segs, pred_segs)
        if lcs == 0:
            scores.append(0.0)
            continue
        precision, recall = lcs / len(pred_segs), lcs / len(ans_segs)
        scores.append(2 * precision * recall / (precision + recall))
    return max(scores) if scores else 0.0


def cmrc_em(answers: Sequence[str], prediction: str) -> float:
    """Official ``calc_em_score``: 1 when any answer equals the prediction after punctuation removal."""
    pred = remove_punctuation(prediction)
    return float(any(remove_punctuation(a) == pred for a in answers))


def cmrc_em_f1(gold: Mapping[str, Sequence[str]], predictions: Mapping[str, str]) -> Dict[str, float]:
    """Corpus EM/F1 (0..100) of ``predictions`` (id -> text) against ``gold`` (id -> answer texts);
    ids missing from ``predictions`` score 0, as in the official script."""
    if not gold:
        raise ValueError("`gold` is empty")
    em = f1 = 0.0
    skipped = 0
    for qid, answers in gold.items():
        if qid not in predictions:
            skipped += 1
            continue
        pred = str(predictions[qid])
        em += cmrc_em(answers, pred)
        f1 += cmrc_f1(answers, pred)
    n = len(gold)
    return {"em": 100.0 * em / n, "f1": 100.0 * f1 / n, "n": n, "unanswered": skipped}
