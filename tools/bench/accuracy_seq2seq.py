"""Summarization (character ROUGE-L) and translation (sacrebleu BLEU) evaluators for `accuracy`,
plus the lead-N characters baseline."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional


def _pairs(spec: dict, root: Path, split: str, limit: Optional[int]):
    from roots_zh.data.seq2seq import load_seq2seq_set

    kwargs = {"direction": spec["direction"]} if spec.get("direction") else {}
    pairs, _ = load_seq2seq_set(root, spec["dataset"], split, **kwargs)
    return pairs[:limit] if limit else pairs


def _evaluate(cls_path: str, spec: dict, root: Path, limit: Optional[int], **options) -> Dict[str, float]:
    import importlib

    module, name = cls_path.split(":")
    pipe = getattr(importlib.import_module(module), name).from_pretrained(spec["model"], **options)
    pairs = _pairs(spec, root, spec["split"], limit)
    return pipe.evaluate([p.source for p in pairs], [p.target for p in pairs], batch_size=64,
                         **spec.get("generation", {}))


def eval_summarization(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    return _evaluate("roots_zh.pipelines.summarization:Summarizer", spec, root, limit)


def eval_translation(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    # the row's direction also picks the BLEU tokenisation (zh for Chinese output)
    options = {"direction": spec["direction"]} if spec.get("direction") else {}
    return _evaluate("roots_zh.pipelines.translation:Translator", spec, root, limit, **options)


def _extractive(spec: dict, root: Path, limit: Optional[int], pick) -> Dict[str, float]:
    """Score ``pick(source) -> sentence``, cut to N characters, N = the mean training summary length."""
    from roots_zh.metrics.generation import char_rouge

    train = _pairs(spec, root, spec.get("train_split", "train"), None)
    n = round(sum(len(p.target) for p in train) / len(train))
    pairs = _pairs(spec, root, spec["split"], limit)
    return {**char_rouge([pick(p.source)[:n] for p in pairs], [p.target for p in pairs]), "n_chars": n}


def baseline_lead(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """The first N characters of the source."""
    return _extractive(spec, root, limit, lambda text: text)


def baseline_textrank(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """The most central sentence by TextRank (``roots_zh.generation.extractive``), first N characters."""
    from roots_zh.generation.extractive import textrank

    return _extractive(spec, root, limit, lambda text: "".join(textrank(text, 1)) or text)


def baseline_snownlp_summary(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """SnowNLP's TextRank ``summary(1)`` (an offline peer; the optional ``peers`` extra), first N characters."""
    from .peers import require_peer

    SnowNLP = require_peer("snownlp").SnowNLP

    def pick(text: str) -> str:
        try:
            return "".join(SnowNLP(text).summary(1)) or text
        except (ZeroDivisionError, ValueError):  # texts without a sentence SnowNLP can rank
            return text

    return _extractive(spec, root, limit, pick)
