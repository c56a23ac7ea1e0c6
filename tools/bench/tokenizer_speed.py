"""``benchmark.py tokenize``: tokenizer throughput (chars/s) on the same real corpus lines.

Compares our BertChineseTokenizer (Rust ``tokenizers`` engine and pure-Python engine), the
RootsTokenizer (SentencePiece), PaddleNLP's BertTokenizer (per text and batch) and ``jieba.lcut``,
and checks on the way that our ids equal PaddleNLP's on every line. No BERT vocab can be
downloaded here, so a 21,128-entry WordPiece vocab (bert-base-chinese's size) is trained on other
corpus lines first, unless ``--vocab`` is given.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .common import REPO_ROOT, format_table, run_context, sample_corpus_lines, write_result
from .report import refresh_sections

NAME = "tokenize"
TITLE = "Tokenizers"
REFERENCE = "paddlenlp BertTokenizer (per text)"
HEADLINE = "BertChineseTokenizer fast (per text)"  # the ratio the issue asks about (bold in the table)
LABELS = {  # row name in the JSON -> BENCHMARKS.md label
    "paddlenlp BertTokenizer (per text)": "PaddleNLP `BertTokenizer`, per text",
    "paddlenlp BertTokenizer (batch)": "PaddleNLP `BertTokenizer`, batch",
    "BertChineseTokenizer fast (per text)": "`BertChineseTokenizer` (HF `tokenizers` engine), per text",
    "BertChineseTokenizer fast (batch)": "`BertChineseTokenizer`, batch",
    "BertChineseTokenizer python (per text)": "`BertChineseTokenizer`, pure-Python fallback",
    "RootsTokenizer spm (per text)": "`RootsTokenizer` (SentencePiece 16k), per text",
    "RootsTokenizer spm (batch)": "`RootsTokenizer`, batch",
    "jieba.lcut (per text)": "`jieba.lcut`",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="tokenizer throughput vs PaddleNLP BertTokenizer and jieba")
    p.add_argument("--lines", type=int, default=20_000, help="corpus lines to tokenize")
    p.add_argument("--quick", action="store_true", help="2,000 lines, one timing round")
    p.add_argument("--rounds", type=int, default=2, help="timing rounds (best is kept)")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--vocab", default=None, help="BERT vocab.txt (default: train one from the corpus)")
    p.add_argument("--model-dir", default=str(REPO_ROOT / "pretrained" / "roots-base"),
                   help="RootsTokenizer directory (spm.model)")
    p.set_defaults(func=run)


def build_vocab(path: Path, vocab_size: int = 21128, n_lines: int = 20_000) -> Path:
    """Train a BERT-style WordPiece vocab on corpus lines (not the benchmark lines)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    lines = sample_corpus_lines(n_lines, step=3, skip=40_000 // 13)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        limit_alphabet=6000, show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    vocab = tok.get_vocab()
    path.write_text("\n".join(sorted(vocab, key=vocab.get)) + "\n", encoding="utf-8")
    return path


def _time(fn: Callable[[List[str]], object], texts: List[str], rounds: int) -> float:
    fn(texts[:50])  # warm-up: lazy init (jieba dictionary, Rust regexes) is not throughput
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - t0)
    return best


def _batched(call: Callable[[List[str]], object], size: int) -> Callable[[List[str]], object]:
    return lambda texts: [call(texts[i : i + size]) for i in range(0, len(texts), size)]


def _per_text(call: Callable[[str], object]) -> Callable[[List[str]], object]:
    return lambda texts: [call(t) for t in texts]


def run(args: argparse.Namespace) -> int:
    warnings.filterwarnings("ignore")
    from roots_zh.tokenization.bert_chinese import BertChineseTokenizer

    n_lines = 2_000 if args.quick else args.lines
    rounds = 1 if args.quick else max(1, args.rounds)
    lines = sample_corpus_lines(n_lines)
    n_chars = sum(len(t) for t in lines)
    print(f"{len(lines):,} lines, {n_chars:,} chars; best of {rounds} round(s)")

    tmp = tempfile.TemporaryDirectory(prefix="roots_bench_")
    vocab = Path(args.vocab) if args.vocab else build_vocab(
        Path(tmp.name) / "vocab.txt", n_lines=5_000 if args.quick else 20_000)
    bs = args.batch_size
    cases: Dict[str, Callable[[List[str]], object]] = {}
    notes: Dict[str, str] = {}

    try:
        from paddlenlp.transformers import BertTokenizer
    except Exception as exc:  # noqa: BLE001 - report and go on without the reference
        BertTokenizer = None
        print(f"paddlenlp unavailable ({exc}); no reference rows")
    ref = BertTokenizer(str(vocab)) if BertTokenizer else None
    fast = BertChineseTokenizer(str(vocab))
    slow = BertChineseTokenizer(str(vocab), engine="python")

    parity: Optional[Dict[str, int]] = None
    if ref is not None:
        ref_ids = [ref(t)["input_ids"] for t in lines]
        ours = fast(lines)["input_ids"]
        ours_py = slow(lines)["input_ids"]
        parity = {
            "lines": len(lines),
            "mismatches_fast": sum(a != b for a, b in zip(ref_ids, ours)),
            "mismatches_python": sum(a != b for a, b in zip(ref_ids, ours_py)),
        }
        print(f"parity vs PaddleNLP on {len(lines):,} lines: fast {parity['mismatches_fast']} mismatches, "
              f"python {parity['mismatches_python']} mismatches")
        cases["paddlenlp BertTokenizer (per text)"] = _per_text(ref)
        cases["paddlenlp BertTokenizer (batch)"] = _batched(ref, bs)
    if fast.engine == "fast":
        cases["BertChineseTokenizer fast (per text)"] = _per_text(fast)
        cases["BertChineseTokenizer fast (batch)"] = _batched(fast, bs)
        notes["BertChineseTokenizer fast (batch)"] = "Rust encode_batch: uses all cores"
    cases["BertChineseTokenizer python (per text)"] = _per_text(slow)
    model = Path(args.model_dir) / "spm.model"
    if model.is_file():
        from roots_zh.tokenization.sentencepiece_tokenizer import RootsTokenizer

        roots = RootsTokenizer(str(model))
        cases["RootsTokenizer spm (per text)"] = _per_text(roots)
        cases["RootsTokenizer spm (batch)"] = _batched(roots, bs)
        notes["RootsTokenizer spm (batch)"] = "SentencePiece batch encode: uses all cores"
    else:
        print(f"no {model}; RootsTokenizer rows skipped")
    try:
        import jieba

        jieba.setLogLevel(60)
        seg = jieba.Tokenizer()
        seg.initialize()
        cases["jieba.lcut (per text)"] = _per_text(seg.lcut)
    except ImportError:
        print("jieba unavailable; row skipped")

    rows = []
    for name, fn in cases.items():
        seconds = _time(fn, lines, rounds)
        rows.append({"tokenizer": name, "seconds": round(seconds, 3), "chars_per_s": n_chars / seconds,
                     "note": notes.get(name, "")})
        print(f"  {name:42s} {n_chars / seconds:>14,.0f} chars/s", flush=True)
    base = next((r["chars_per_s"] for r in rows if r["tokenizer"] == REFERENCE), None)
    for r in rows:
        r["ratio_vs_paddlenlp"] = round(r["chars_per_s"] / base, 2) if base else None
        r["chars_per_s"] = round(r["chars_per_s"])
    print()
    print(format_table(rows, ["tokenizer", "chars_per_s", "ratio_vs_paddlenlp", "seconds", "note"]))
    path = write_result(NAME, {
        "lines": len(lines), "chars": n_chars, "rounds": rounds, "quick": bool(args.quick),
        "vocab": str(vocab) if args.vocab else "WordPiece 21128 trained on other corpus lines",
        "vocab_size": fast.vocab_size, "parity_vs_paddlenlp": parity, "rows": rows,
    })
    print(f"wrote {path}")
    tmp.cleanup()
    refresh_sections(NAME, quick=args.quick)
    return 0


def _row(row: Dict[str, Any], same_ids: bool) -> str:
    label = LABELS.get(row["tokenizer"], row["tokenizer"])
    if row["tokenizer"] == HEADLINE and same_ids:
        label += " (ids identical to PaddleNLP's)"
    if row.get("note"):
        label += f" ({row['note']})"
    ratio = row.get("ratio_vs_paddlenlp")
    ratio = "—" if ratio is None else f"{ratio:.2f}"
    if row["tokenizer"] == HEADLINE and ratio != "—":
        ratio = f"**{ratio}**"
    return f"| {label} | {row['chars_per_s']:,} | {ratio} |"


def _parity(parity: Optional[Dict[str, int]]) -> str:
    if not parity:
        return "No id-parity check in this run (PaddleNLP was not importable)."
    return (f"Id parity with PaddleNLP `BertTokenizer` in this run: {parity['mismatches_fast']} mismatching "
            f"lines (HF engine) and {parity['mismatches_python']} (pure-Python engine) of {parity['lines']:,}.")


def markdown(result: Dict[str, Any]) -> str:
    """The tokenizer-throughput table for BENCHMARKS.md."""
    quick = " --quick" if result.get("quick") else ""
    rounds = result.get("rounds", 1)
    lines = [f"## {TITLE} — `python tools/benchmark.py tokenize{quick}` ({run_context(result)}; "
             f"{result.get('lines', 0):,} real corpus lines, {result.get('chars', 0) / 1e6:.1f} M chars, "
             f"best of {rounds} round{'s' if rounds != 1 else ''})", "",
             "| tokenizer | chars/s | vs PaddleNLP `BertTokenizer` |", "|---|---:|---:|"]
    parity = result.get("parity_vs_paddlenlp")
    lines += [_row(r, bool(parity) and parity.get("mismatches_fast") == 0) for r in result.get("rows", [])]
    lines += ["", _parity(parity) + f" BERT vocab: {result.get('vocab')} "
              f"({result.get('vocab_size', 0):,} entries)."]
    if result.get("note"):
        lines += ["", str(result["note"])]
    return "\n".join(lines)
