"""Generation metrics in one place: character-level ROUGE for Chinese summaries, sacreBLEU for
translation (``pip install 'roots_zh[metrics]'`` for sacrebleu)."""
from __future__ import annotations

from collections import Counter
from typing import Dict, List, Sequence

BLEU_TOKENIZE = {"en-zh": "zh", "zh-en": "13a"}  # target language -> sacreBLEU tokenizer


def _chars(text: str) -> List[str]:
    """Characters of ``text`` without whitespace (Chinese ROUGE is computed on characters)."""
    return [c for c in text if not c.isspace()]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(len(a)·len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _f1(overlap: int, n_hyp: int, n_ref: int) -> float:
    if overlap == 0 or n_hyp == 0 or n_ref == 0:
        return 0.0
    p, r = overlap / n_hyp, overlap / n_ref
    return 2 * p * r / (p + r)


def rouge_l_f(hypothesis: str, reference: str) -> float:
    """Character-level ROUGE-L F1 (as ``rouge-score`` on pre-split characters), in [0, 1]."""
    h, r = _chars(hypothesis), _chars(reference)
    return _f1(lcs_length(h, r), len(h), len(r))


def rouge_n_f(hypothesis: str, reference: str, n: int) -> float:
    """Character-level ROUGE-N F1 (clipped n-gram overlap), in [0, 1]."""
    h, r = _chars(hypothesis), _chars(reference)
    hg = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
    rg = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
    return _f1(sum((hg & rg).values()), sum(hg.values()), sum(rg.values()))


def _check_lists(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    for name, values in (("hypotheses", hypotheses), ("references", references)):
        if not isinstance(values, (list, tuple)):
            raise TypeError(f"`{name}` must be a list of str, got {type(values).__name__}")
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise TypeError(f"`{name}[{i}]` must be a str, got {type(v).__name__}")
    if len(hypotheses) != len(references):
        raise ValueError(f"`hypotheses` has {len(hypotheses)} items but `references` has {len(references)}")


def char_rouge(hypotheses: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """Mean character-level ROUGE-1/2/L F1 over the corpus, ×100 (the usual reporting scale)."""
    _check_lists(hypotheses, references)
    n = len(hypotheses)
    if n == 0:
        return {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0, "n": 0}
    scores = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for h, r in zip(hypotheses, references):
        scores["rouge1"] += rouge_n_f(h, r, 1)
        scores["rouge2"] += rouge_n_f(h, r, 2)
        scores["rougeL"] += rouge_l_f(h, r)
    return {**{k: round(100 * v / n, 4) for k, v in scores.items()}, "n": n}


def bleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> Dict[str, float]:
    """Corpus BLEU with sacreBLEU (one reference per segment). ``tokenize="zh"`` for Chinese
    targets, ``"13a"`` for English."""
    _check_lists(hypotheses, references)
    try:
        from sacrebleu.metrics import BLEU
    except ImportError as err:  # optional dependency
        raise ImportError("BLEU needs sacrebleu: pip install 'roots_zh[metrics]' (or pip install sacrebleu)") from err
    if tokenize not in ("13a", "zh", "intl", "char", "none"):
        raise ValueError(f"`tokenize`={tokenize!r} is not valid; choose one of ['13a', 'zh', 'intl', 'char', 'none']")
    if not hypotheses:
        return {"bleu": 0.0, "n": 0}
    score = BLEU(tokenize=tokenize).corpus_score(list(hypotheses), [list(references)])
    return {"bleu": round(float(score.score), 4), "n": len(hypotheses), "signature_tokenize": tokenize}
