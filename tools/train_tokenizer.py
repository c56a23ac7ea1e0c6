#!/usr/bin/env python
"""Train the ROOTS SentencePiece tokenizer on a streaming sample of the pretraining corpus.

    python tools/train_tokenizer.py                 # final model -> pretrained/roots-base/
    python tools/train_tokenizer.py --report        # vocab-size sweep -> benchmarks/results/tokenizer_vocab.json
    python tools/train_tokenizer.py --report --save-chosen   # sweep, then keep the chosen model

Sampling: pass 1 counts the characters of each of the 13 corpus files; each file then gets a
character budget proportional to ``boost * chars ** --temperature`` (0.5: square-root smoothing,
so the 60 MB CCTV file does not drown the small files; en_zh_parallel, which carries most of the
corpus's English, is boosted x4 so ~1/6 of the sample is English), capped at the file's size;
pass 2 streams the files again and keeps lines at random to meet the budgets. Lines are split
into sentences. One line in 100 (by CRC32) is never used for training: those held-out documents
are what ``--report`` measures on, together with WMT newsdev2017 zh/en.

Model: unigram, byte_fallback, split_digits, pieces of at most 6 chars, character_coverage
0.9995, normalisation rule ``identity`` because the input is normalised by
``roots_zh.tokenization.normalize`` (the same function the tokenizer applies at encode time, with
an offset map back to the raw text). With
``nmt_nfkc`` SentencePiece would apply a second, different normalisation (NFKC also rewrites
``①``, ``㎏``, ligatures, ...) that our offset map cannot see and decode could not undo.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
import zlib
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench.common import REPO_ROOT, corpus_files, data_dir, format_table, iter_lines, write_result  # noqa: E402

from roots_zh.tokenization.normalize import normalize  # noqa: E402
from roots_zh.tokenization.sentencepiece_tokenizer import (  # noqa: E402
    RootsTokenizer,
    train_sentencepiece,
    trainer_options,
)

DEFAULT_VOCAB_SIZE = 16000  # = pick_vocab_size() of the --report sweep (benchmarks/results/tokenizer_vocab.json)
REPORT_SIZES = (8000, 16000, 24000, 32000)
# en_zh_parallel carries most of the corpus's English; x4 makes ~1/6 of the sample English text,
# enough for English word pieces for zh<->en (x1 left a 24k model with ~1,500 English pieces)
DEFAULT_BOOST = {"en_zh_parallel.txt.gz": 4.0}
# Target model (roots-base): hidden 256, 4 layers; the LM head runs on ~30% of positions (15% MLM
# masks + prefix-LM targets). Vocab rows cost parameters (V*H) and LM-head FLOPs (2*V*H per
# predicted token); a bigger vocab pays back only through shorter sequences.
HIDDEN_SIZE = 256
NUM_LAYERS = 4
PREDICTED_FRACTION = 0.3
TOLERANCE = 0.02
CHOICE_RULE = (
    f"largest swept size whose estimated training GFLOPs per held-out document (hidden {HIDDEN_SIZE}, "
    f"{NUM_LAYERS} layers: tokens/doc * 2 * (12*L*H^2 + {PREDICTED_FRACTION} * V*H)) is within "
    f"{TOLERANCE:.0%} of the cheapest size"
)
_SENTENCE_END = re.compile(r"(?<=[。！？!?])\s*|\t")


def is_heldout(line: str) -> bool:
    """1 line in 100, chosen by content hash: never trained on, used for evaluation."""
    return zlib.crc32(line.encode("utf-8")) % 100 == 0


def split_sentences(line: str, max_chars: int = 1000) -> List[str]:
    """Sentences of a document line (split at 。！？!? and tabs; long ones cut at ``max_chars``)."""
    out = []
    for sent in _SENTENCE_END.split(line):
        sent = sent.strip()
        for i in range(0, len(sent), max_chars):
            out.append(sent[i : i + max_chars])
    return out


def char_budgets(
    sizes: Dict[str, int], total: int, temperature: float, boost: Dict[str, float] | None = None
) -> Dict[str, int]:
    """Split ``total`` chars over files in proportion to ``boost * size ** temperature``, capped at size."""
    budgets: Dict[str, int] = {}
    left, open_files = total, dict(sizes)
    boost = boost or {}
    while open_files and left > 0:
        weights = {k: boost.get(k, 1.0) * v ** temperature for k, v in open_files.items()}
        norm = sum(weights.values())
        capped = {k for k, v in open_files.items() if left * weights[k] / norm >= v}
        if not capped:
            budgets.update({k: int(left * weights[k] / norm) for k in open_files})
            break
        for k in capped:  # small files are taken whole; their share goes to the others
            budgets[k] = open_files.pop(k)
            left -= budgets[k]
    return budgets


def sample_corpus(
    files: Sequence[Path], max_chars: int, temperature: float, seed: int, heldout_docs: int,
    boost: Dict[str, float] | None = None,
) -> Tuple[List[str], List[str], List[Dict[str, object]]]:
    """(training sentences, held-out documents, per-file stats), streaming the gzip files twice."""
    sizes = {}
    for path in files:
        sizes[path.name] = sum(len(line) for line in iter_lines(path) if not is_heldout(line))
    budgets = char_budgets(sizes, max_chars, temperature, boost)
    sentences: List[str] = []
    heldout: Dict[str, List[str]] = {}
    stats = []
    for path in files:
        rng = random.Random(f"{seed}:{path.name}")
        keep = budgets.get(path.name, 0) / max(sizes[path.name], 1)
        kept_chars = kept_lines = 0
        held: List[str] = []
        for line in iter_lines(path):
            if is_heldout(line):
                held.append(line)
            elif rng.random() < keep:
                kept_lines += 1
                kept_chars += len(line)
                sentences.extend(split_sentences(line))
        heldout[path.name] = held
        stats.append({"file": path.name, "chars": sizes[path.name], "sampled_chars": kept_chars,
                      "sampled_lines": kept_lines, "share": 0.0})
    total = sum(s["sampled_chars"] for s in stats) or 1
    for s in stats:
        s["share"] = round(s["sampled_chars"] / total, 4)
    # held-out documents: the same number from each file (as far as it has them)
    per_file = -(-heldout_docs // len(files))
    docs = [d for name in sorted(heldout) for d in heldout[name][:per_file]]
    return sentences, docs, stats


def read_wmt(root: Path, side: str, limit: int = 2000) -> List[str]:
    path = root / "zh_en" / "wmt_newstest" / f"newsdev2017-enzh.{side}"
    lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return lines[:limit]


def add_costs(rows: List[Dict[str, float]]) -> None:
    """Add embedding parameters, tokens/doc gain and estimated training GFLOPs/doc to each row."""
    body = 12 * NUM_LAYERS * HIDDEN_SIZE**2  # attention 4H^2 + FFN 8H^2 per layer
    prev = None
    for row in sorted(rows, key=lambda r: r["vocab_size"]):
        embed = row["vocab_size"] * HIDDEN_SIZE
        row[f"embedding_params_h{HIDDEN_SIZE}"] = embed
        row["embedding_share_pct"] = round(100 * embed / (embed + body), 1)
        row["tokens_per_doc_gain_pct"] = (
            round(100 * (1 - row["tokens_per_doc"] / prev["tokens_per_doc"]), 1) if prev else None
        )
        row["train_gflops_per_doc"] = round(row["tokens_per_doc"] * 2 * (body + PREDICTED_FRACTION * embed) / 1e9, 3)
        prev = row


def pick_vocab_size(rows: Sequence[Dict[str, float]], tolerance: float = TOLERANCE) -> int:
    """The largest size whose estimated training cost per document is within ``tolerance`` of the
    cheapest (a bigger vocab compresses zh/en better, so take it while it is ~free)."""
    best = min(r["train_gflops_per_doc"] for r in rows)
    return int(max(r["vocab_size"] for r in rows if r["train_gflops_per_doc"] <= best * (1 + tolerance)))


def evaluate(tok: RootsTokenizer, docs: List[str], zh: List[str], en: List[str]) -> Dict[str, float]:
    """Tokens per held-out document, chars/token on zh and en lines, byte-fallback share."""

    def count(texts: List[str]) -> Tuple[int, int, int]:
        ids = [x for x, _ in tok._encode_texts(texts, with_offsets=False)]
        n_tok = sum(len(x) for x in ids)
        n_byte = sum(1 for x in ids for i in x if tok.sp.is_byte(i))
        n_chars = sum(len(normalize(t)) for t in texts)
        return n_tok, n_chars, n_byte

    d_tok, d_chars, d_byte = count(docs)
    z_tok, z_chars, z_byte = count(zh)
    e_tok, e_chars, _ = count(en)
    return {
        "tokens_per_doc": round(d_tok / max(len(docs), 1), 2),
        "doc_chars_per_token": round(d_chars / max(d_tok, 1), 3),
        "zh_chars_per_token": round(z_chars / max(z_tok, 1), 3),
        "en_chars_per_token": round(e_chars / max(e_tok, 1), 3),
        "byte_fallback_pct_docs": round(100 * d_byte / max(d_tok, 1), 3),
        "byte_fallback_pct_zh": round(100 * z_byte / max(z_tok, 1), 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default=str(REPO_ROOT / "pretrained" / "roots-base"))
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    parser.add_argument("--max-chars", type=int, default=8_000_000, help="training chars sampled from the corpus")
    parser.add_argument("--max-sentences", type=int, default=300_000,
                        help="SentencePiece input_sentence_size (random subset of the sampled sentences)")
    parser.add_argument("--temperature", type=float, default=0.5, help="file weight = chars ** temperature")
    parser.add_argument("--boost", nargs="*", default=[f"{k}={v:g}" for k, v in DEFAULT_BOOST.items()],
                        metavar="FILE=FACTOR", help="multiply a file's sampling weight (default: %(default)s)")
    parser.add_argument("--character-coverage", type=float, default=0.9995)
    parser.add_argument("--heldout-docs", type=int, default=2600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--report", action="store_true", help="train each of --sizes and measure them")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(REPORT_SIZES))
    parser.add_argument("--save-chosen", action="store_true",
                        help="with --report: also save the chosen size's model into --output-dir")
    args = parser.parse_args(argv)
    try:
        boost = {k: float(v) for k, v in (item.split("=", 1) for item in args.boost)}
    except ValueError:
        parser.error(f"--boost takes FILE=FACTOR items, got {args.boost}")

    root = data_dir(args.data_dir)
    t0 = time.time()
    sentences, docs, stats = sample_corpus(corpus_files(root), args.max_chars, args.temperature, args.seed,
                                           args.heldout_docs, boost)
    print(f"sampled {len(sentences):,} sentences ({sum(s['sampled_chars'] for s in stats):,} chars) "
          f"and {len(docs):,} held-out docs in {time.time() - t0:.1f}s")
    print(format_table(stats, ["file", "chars", "sampled_chars", "sampled_lines", "share"]))
    spm_options = dict(input_sentence_size=args.max_sentences, shuffle_input_sentence=True,
                       num_threads=args.threads, seed_sentencepiece_size=1_000_000)

    if args.report:
        zh, en = read_wmt(root, "zh"), read_wmt(root, "en")
        rows, protos = [], {}
        for size in args.sizes:
            t1 = time.time()
            proto = train_sentencepiece(sentences, size, args.character_coverage, **spm_options)
            train_s = time.time() - t1
            protos[size] = proto
            tok = RootsTokenizer(model_proto=proto)
            row = {"vocab_size": size, "train_s": round(train_s, 1), "model_kb": round(len(proto) / 1024, 1),
                   **evaluate(tok, docs, zh, en)}
            rows.append(row)
            print(format_table([row], list(row)), flush=True)
        add_costs(rows)
        chosen = pick_vocab_size(rows)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        print("\n" + format_table(rows, columns))
        print(f"chosen vocab size: {chosen} ({CHOICE_RULE}); default in this tool: {DEFAULT_VOCAB_SIZE}")
        path = write_result("tokenizer_vocab", {
            "description": "SentencePiece unigram vocab-size sweep on the corpus sample; held-out docs are "
                           "1/100 of corpus lines (CRC32) never trained on; zh/en = WMT newsdev2017",
            "chosen_vocab_size": chosen,
            "choice_rule": CHOICE_RULE,
            "cost_model": {"hidden_size": HIDDEN_SIZE, "num_layers": NUM_LAYERS,
                           "predicted_fraction": PREDICTED_FRACTION, "tolerance": TOLERANCE},
            "trainer": {k: v for k, v in trainer_options(0, args.character_coverage).items()
                        if k not in ("vocab_size", "user_defined_symbols", "minloglevel")},
            "sample": {"sentences": len(sentences), "max_chars": args.max_chars, "temperature": args.temperature,
                       "boost": boost,
                       "max_sentences": args.max_sentences, "heldout_docs": len(docs), "zh_lines": len(zh),
                       "en_lines": len(en), "files": stats},
            "rows": rows,
        })
        print(f"wrote {path}")
        if args.save_chosen:
            written = RootsTokenizer(model_proto=protos[chosen]).save_pretrained(args.output_dir)
            print(f"saved the {chosen} model: " + ", ".join(str(p) for p in written))
        return 0

    t1 = time.time()
    proto = train_sentencepiece(sentences, args.vocab_size, args.character_coverage, **spm_options)
    tok = RootsTokenizer(model_proto=proto)
    written = tok.save_pretrained(args.output_dir)
    print(f"trained vocab {args.vocab_size} in {time.time() - t1:.1f}s ({len(proto) / 1024:.0f} KiB); wrote "
          + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
