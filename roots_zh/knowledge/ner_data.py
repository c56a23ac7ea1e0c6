"""Character-level BIO NER data (the K-BERT ``medical_ner`` TSV format), span F1, and token
features for ROOTS token classification, optionally with per-token linked ``entity_ids``.

Format: a header line ``text_a<TAB>label``, then one sentence per line: space-separated characters,
a tab, space-separated BIO tags (same count). The tag vocabulary and tags <-> spans are
``roots_zh.data.ner_qa.tag_names`` / ``tags_to_spans``; scoring is ``roots_zh.metrics.entity_prf``.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..data.ner_qa import tags_to_spans
from ..metrics.spans import entity_prf
from .graph import ReadReport

IGNORE_INDEX = -100  # == roots_zh.modeling.IGNORE_INDEX (knowledge does not import modeling)
Sentence = Tuple[List[str], List[str]]


def read_bio_tsv(path: Union[str, os.PathLike]) -> Tuple[List[Sentence], ReadReport]:
    """``(chars, tags)`` per sentence; lines with mismatched counts or bad tags are skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NER file {path} not found")
    opener = gzip.open if path.suffix == ".gz" else open
    report, rows = ReadReport(str(path)), []
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or (line_no == 1 and line.startswith("text_a")):
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                report.skip(line_no, f"expected text<TAB>tags, got {len(parts)} fields")
                continue
            chars, tags = parts[0].split(" "), parts[1].split(" ")
            if len(chars) != len(tags):
                report.skip(line_no, f"{len(chars)} characters but {len(tags)} tags")
                continue
            bad = [t for t in tags if t != "O" and not (t[:2] in ("B-", "I-") and len(t) > 2)]
            if bad:
                report.skip(line_no, f"not a BIO tag: {bad[0]!r}")
                continue
            rows.append((chars, tags))
            report.read += 1
    report.log()
    return rows, report


def span_f1(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> Dict[str, float]:
    """Micro entity P/R/F1 (exact type and boundaries) over sentences of tags: ``entity_prf`` on
    ``tags_to_spans`` of each sentence (public as ``roots_zh.knowledge.span_f1``)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted sentences for {len(gold)} gold ones")
    out = entity_prf([tags_to_spans(g) for g in gold], [tags_to_spans(p) for p in predicted])
    return {k: out[k] for k in ("precision", "recall", "f1")}


def encode_sentence(tokenizer, chars: Sequence[str], tags: Sequence[str], label2id: Dict[str, int],
                    max_length: int = 128, char_entities: Optional[Sequence[Sequence[int]]] = None,
                    ) -> Dict[str, list]:
    """Token features for one sentence: ``input_ids``, ``attention_mask``, ``labels`` (the tag of each
    token's first character; ``IGNORE_INDEX`` on [CLS]/[SEP]), ``token_starts``/``token_ends`` (char
    offsets, kept for decoding) and, with ``char_entities`` (``[len(chars), K]``), ``entity_ids``
    (the slots of each token's first character; zeros on special tokens)."""
    text = "".join(chars)
    starts = [0] * len(chars)  # char index of each original char within `text`
    pos = 0
    for i, c in enumerate(chars):
        starts[i] = pos
        pos += len(c)
    char_at = {s: i for i, s in enumerate(starts)}
    enc = tokenizer(text, max_length=max_length, truncation=True, return_offsets_mapping=True)
    labels, t_starts, t_ends, ents = [], [], [], []
    k = len(char_entities[0]) if char_entities is not None and len(char_entities) else 0
    for (s, e), tid in zip(enc["offset_mapping"], enc["input_ids"]):
        idx = char_at.get(s) if e > s else None
        if idx is None:
            labels.append(IGNORE_INDEX)
            t_starts.append(-1)
            t_ends.append(-1)
            ents.append([0] * k)
            continue
        end_idx = next((j for j in range(idx, len(chars)) if starts[j] >= e), len(chars))
        labels.append(label2id[tags[idx]] if tags is not None else IGNORE_INDEX)
        t_starts.append(idx)
        t_ends.append(end_idx)
        ents.append(list(char_entities[idx]) if k else [])
    feature = {"input_ids": list(enc["input_ids"]), "attention_mask": list(enc["attention_mask"]),
               "labels": labels, "token_starts": t_starts, "token_ends": t_ends}
    if char_entities is not None:
        feature["entity_ids"] = ents
    return feature


def decode_tags(pred_label_ids: Sequence[int], feature: Dict[str, list], id2label: Dict[int, str],
                num_chars: int) -> List[str]:
    """Character tags from per-token predictions: a token's tag goes on its first character, its
    other characters get ``I-X`` (or ``O``); characters past truncation are ``O``."""
    tags = ["O"] * num_chars
    for label, s, e in zip(pred_label_ids, feature["token_starts"], feature["token_ends"]):
        if s < 0:
            continue
        tag = id2label[int(label)]
        tags[s] = tag
        inner = "O" if tag == "O" else "I-" + tag[2:]
        for j in range(s + 1, e):
            tags[j] = inner
    return tags
