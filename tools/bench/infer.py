"""`infer`: deployment speed and accuracy, all in one run, as ratios.

roots-base sequence classification (2 labels), batch 32 x 128 real ChnSentiCorp tokens, 2 CPU threads:
dygraph vs Paddle Inference fp32 vs ONNX Runtime fp32 vs ONNX Runtime INT8 (dynamic quantization of
the same export); batch-1 latency p50/p99 for each; length-sorted vs unsorted batches; ChnSentiCorp
dev/test accuracy of a fine-tuned classifier for each precision. Generation speed is `decode`.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

from .common import REPO_ROOT, data_dir, format_table, run_context, write_result
from .report import refresh_sections

NAME = "infer"
TITLE = "Inference"
INPUTS = ("input_ids", "token_type_ids", "attention_mask")


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="Paddle Inference / ONNX Runtime INT8 speed and accuracy vs dygraph")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--repeats", type=int, default=10, help="timed batches per backend")
    p.add_argument("--finetuned", default=None,
                   help="ChnSentiCorp classifier to measure (default: the shipped roots-sentiment; without "
                        "it, one fine-tuned here into work_dirs/infer/csc_ft/final)")
    p.add_argument("--ft-examples", type=int, default=3000, help="training examples when fine-tuning here")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--quick", action="store_true", help="few repeats, 200-text eval subsets, 4 new tokens")
    p.set_defaults(func=run)


def _timed(fn: Callable[[], object], repeats: int, warmup: int = 2) -> List[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _fixed_batch(tokenizer, texts, batch: int, seq_len: int) -> Dict[str, "np.ndarray"]:
    """``batch`` real texts that fill all ``seq_len`` tokens (no padding)."""
    import numpy as np

    enc = tokenizer(texts, max_length=seq_len, truncation=True)
    rows = [i for i, ids in enumerate(enc["input_ids"]) if len(ids) == seq_len][:batch]
    if len(rows) < batch:
        raise SystemExit(f"only {len(rows)} texts reach {seq_len} tokens; lower --seq-len")
    return {k: np.asarray([enc[k][i] for i in rows], dtype="int64") for k in INPUTS}


def _speed(args, tokenizer, texts, backends) -> List[dict]:
    import numpy as np

    big = _fixed_batch(tokenizer, texts, args.batch_size, args.seq_len)
    one = {k: v[:1] for k, v in big.items()}
    rows = []
    for name, backend in backends.items():
        t = _timed(lambda: backend.run(big), args.repeats)
        lat = np.asarray(_timed(lambda: backend.run(one), args.repeats * 5)) * 1000
        rows.append({"backend": name, "batch_ms": float(np.median(t)) * 1000,
                     "seq_per_s": args.batch_size / float(np.median(t)),
                     "b1_p50_ms": float(np.percentile(lat, 50)), "b1_p99_ms": float(np.percentile(lat, 99))})
    return rows


def _bucketing(backend, tokenizer, texts, batch: int, repeats: int) -> dict:
    """Throughput on real lengths: batches of random order (padded to the longest) vs length-sorted."""
    import numpy as np

    from roots_zh.data.collate import pad_batch

    enc = tokenizer(texts, max_length=128, truncation=True)
    feats = [{k: enc[k][i] for k in INPUTS} for i in range(len(texts))]
    pad = {"input_ids": tokenizer.pad_token_id}
    rng = np.random.default_rng(0)

    def batches(order):
        return [pad_batch([feats[i] for i in order[s:s + batch]], pad) for s in range(0, len(order), batch)]

    out = {}
    for label, order in (("unsorted", rng.permutation(len(feats))),
                         ("length_sorted", np.argsort([len(f["input_ids"]) for f in feats], kind="stable"))):
        bs = batches(order)
        t = _timed(lambda: [backend.run(b) for b in bs], repeats, warmup=1)
        out[f"{label}_texts_per_s"] = len(feats) / float(np.median(t))
        out[f"{label}_padded_tokens"] = int(sum(b["input_ids"].size for b in bs))
    out["speedup"] = out["length_sorted_texts_per_s"] / out["unsorted_texts_per_s"]
    out["real_tokens"] = int(sum(len(f["input_ids"]) for f in feats))
    return out


def _classifier(args, root: Path) -> Path:
    """The ChnSentiCorp classifier to measure: --finetuned, else the shipped roots-sentiment, else one
    fine-tuned here."""
    from roots_zh.data.readers import load_classification_set
    from roots_zh.pipelines.text_classification import TextClassifier

    from roots_zh.hub import load_registry

    if args.finetuned is None and "roots-sentiment" in load_registry():  # the shipped model: what users run
        return Path("roots-sentiment")
    out = Path(args.finetuned or REPO_ROOT / "work_dirs" / "infer" / "csc_ft" / "final")
    if (out / "config.json").is_file():
        return out
    print(f"fine-tuning roots-base on {args.ft_examples} ChnSentiCorp examples -> {out}")
    train, _ = load_classification_set(root, "chnsenticorp", "train")
    train = train[:args.ft_examples]
    clf = TextClassifier.from_pretrained("roots-base", labels=["0", "1"], max_length=128)
    clf.fit([e.text for e in train], [e.label for e in train], epochs=1, batch_size=32, learning_rate=2e-4,
            threads=args.threads)
    clf.save_pretrained(out)
    return out


BF16 = "paddle-inference bf16"


def _bf16_variant(export: Path, threads: int) -> dict:
    """``{"paddle-inference bf16": Predictor}`` on a CPU with native bfloat16, else ``{}``."""
    from roots_zh.inference.predictor import Predictor, cpu_has_bf16

    return {BF16: Predictor(export, threads=threads, precision="bf16")} if cpu_has_bf16() else {}


def _accuracy(args, root: Path, work: Path, model: Path) -> List[dict]:
    from roots_zh.data.readers import load_classification_set
    from roots_zh.inference import OnnxBackend, Predictor, export_onnx, quantize_onnx
    from roots_zh.pipelines.text_classification import TextClassifier

    clf = TextClassifier.from_pretrained(model, max_length=128)
    export = clf.export(work / "csc")
    onnx_path = export_onnx(export)
    int8_path = quantize_onnx(onnx_path)
    variants = {"dygraph fp32": None, "paddle-inference fp32": Predictor(export, threads=args.threads),
                **_bf16_variant(export, args.threads),
                "onnxruntime fp32": OnnxBackend(onnx_path, args.threads),
                "onnxruntime int8": OnnxBackend(int8_path, args.threads)}
    n = 200 if args.quick else None
    splits = {s: load_classification_set(root, "chnsenticorp", s)[0][:n] for s in ("dev", "test")}
    rows = []
    for name, backend in variants.items():
        served = clf if backend is None else TextClassifier(None, clf.tokenizer, 128, backend=backend, config=clf.config)
        row = {"variant": name}
        for split, examples in splits.items():
            names = {"0": "负面", "1": "正面"} if clf.labels == ["负面", "正面"] else {}
            row[f"{split}_acc"] = 100 * served.evaluate([e.text for e in examples],
                                                        [names.get(e.label, e.label) for e in examples])["accuracy"]
        rows.append(row)
    for row in rows:
        for split in splits:
            row[f"{split}_delta"] = row[f"{split}_acc"] - rows[0][f"{split}_acc"]
    return rows


def run(args: argparse.Namespace) -> int:
    import paddle

    from roots_zh.data.readers import load_classification_set
    from roots_zh.inference import DygraphBackend, OnnxBackend, Predictor, export_model, export_onnx, quantize_onnx
    from roots_zh.modeling import RootsForSequenceClassification
    from roots_zh.tokenization.auto import AutoTokenizer

    if args.quick:
        args.repeats = 3
    paddle.base.core.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    dev = [e.text for e in load_classification_set(root, "chnsenticorp", "dev")[0]]
    tokenizer = AutoTokenizer.from_pretrained(REPO_ROOT / "pretrained" / "roots-base")
    model = RootsForSequenceClassification.from_pretrained("roots-base", num_labels=2, id2label={0: "0", 1: "1"})
    with tempfile.TemporaryDirectory(prefix="roots-infer-") as tmp:
        work = Path(tmp)
        export = export_model(model, work / "base", tokenizer)
        onnx_path = export_onnx(export)
        backends = {"dygraph fp32": DygraphBackend(model),
                    "paddle-inference fp32": Predictor(export, threads=args.threads),
                    **_bf16_variant(export, args.threads),
                    "onnxruntime fp32": OnnxBackend(onnx_path, args.threads),
                    "onnxruntime int8": OnnxBackend(quantize_onnx(onnx_path), args.threads)}
        speed = _speed(args, tokenizer, dev, backends)
        by = {r["backend"]: r for r in speed}
        for r in speed:
            r["speedup_vs_dygraph"] = r["seq_per_s"] / by["dygraph fp32"]["seq_per_s"]
        ratios = {"pi_fp32_vs_dygraph": by["paddle-inference fp32"]["speedup_vs_dygraph"],
                  "int8_vs_pi_fp32": by["onnxruntime int8"]["seq_per_s"] / by["paddle-inference fp32"]["seq_per_s"],
                  "int8_vs_ort_fp32": by["onnxruntime int8"]["seq_per_s"] / by["onnxruntime fp32"]["seq_per_s"],
                  "targets": {"pi_fp32_vs_dygraph": 3.5, "int8_vs_pi_fp32": 1.5, "int8_vs_ort_fp32": 1.0}}
        if BF16 in by:
            ratios["pi_bf16_vs_pi_fp32"] = by[BF16]["seq_per_s"] / by["paddle-inference fp32"]["seq_per_s"]
        bucket = _bucketing(backends["paddle-inference fp32"], tokenizer, dev[:256 if args.quick else 1200],
                            args.batch_size, 1 if args.quick else 3)
        model = _classifier(args, root)
        accuracy = _accuracy(args, root, work, model)
    print(format_table(speed, ["backend", "batch_ms", "seq_per_s", "speedup_vs_dygraph", "b1_p50_ms", "b1_p99_ms"]))
    print({k: round(v, 2) for k, v in ratios.items() if isinstance(v, float)})
    print("length bucketing (PI fp32, real dev lengths):", {k: round(v, 2) for k, v in bucket.items()})
    print(format_table(accuracy, ["variant", "dev_acc", "dev_delta", "test_acc", "test_delta"]))
    path = write_result(NAME, {"threads": args.threads, "batch_size": args.batch_size, "seq_len": args.seq_len,
                               "quick": args.quick, "speed": speed, "ratios": ratios, "bucketing": bucket,
                               "accuracy": accuracy, "finetuned": str(model)})
    print(f"wrote {path}")
    refresh_sections(NAME, quick=args.quick)
    return 0


def markdown(result: dict) -> str:
    """The inference table for BENCHMARKS.md."""
    lines = [f"## {TITLE} — `python tools/benchmark.py infer` ({run_context(result)}; "
             f"{result.get('threads')} threads, batch {result.get('batch_size')} × {result.get('seq_len')} tokens)", "",
             "| backend | batch ms | sequences/s | vs dygraph | batch-1 p50 / p99 ms |", "|---|---:|---:|---:|---:|"]
    for r in result.get("speed", []):
        lines.append(f"| {r['backend']} | {r['batch_ms']:.0f} | {r['seq_per_s']:.1f} | {r['speedup_vs_dygraph']:.2f}× | "
                     f"{r['b1_p50_ms']:.1f} / {r['b1_p99_ms']:.1f} |")
    ratios = result.get("ratios", {})
    targets = ratios.get("targets", {})
    lines += ["", "Ratios (target): " + ", ".join(
        f"{k} **{v:.2f}**" + (f" (≥ {targets[k]})" if k in targets else "") for k, v in ratios.items() if k != "targets")]
    b = result.get("bucketing", {})
    if b:
        lines.append(f"\nLength-sorted batches: {b['speedup']:.2f}× texts/s over random order "
                     f"(padded tokens {b['unsorted_padded_tokens']:,} → {b['length_sorted_padded_tokens']:,}; "
                     f"real {b['real_tokens']:,}).")
    acc = result.get("accuracy", [])
    if acc:
        lines += ["", f"Accuracy of `{result.get('finetuned')}` per backend (ChnSentiCorp):", "",
                  "| variant | dev | test | Δ test |", "|---|---:|---:|---:|"]
        lines += [f"| {a['variant']} | {a['dev_acc']:.2f} | {a['test_acc']:.2f} | {a['test_delta']:+.2f} |" for a in acc]
    return "\n".join(lines)
