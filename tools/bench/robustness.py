"""``benchmark.py robustness``: accuracy on traditional-script text, and memory on a huge document.

1. Fine-tunes ``roots-base`` on a ChnSentiCorp train subset (or reuses ``--model-dir``), then
   measures test accuracy on the simplified test set, on the same set converted to traditional
   script with OpenCC ``s2t`` (in memory), and on that traditional set read through the
   ``normalize="t2s"`` option (OpenCC ``t2s`` before tokenization).
2. Runs a 100,000-character noisy document (traditional script, zero-width chars, full-width
   letters, URLs) through ``TextClassifier.predict`` in a fresh process and reports its peak RSS
   (``resource.getrusage``) over the RSS after loading, plus the normaliser's throughput.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

from .common import REPO_ROOT, data_dir, format_table, run_context, write_result
from .report import refresh_sections

NAME = "robustness"
TITLE = "Messy text"
DEFAULT_MODEL_DIR = REPO_ROOT / "work_dirs" / "robustness" / "chnsenticorp_3k"


SHIPPED_MODEL = "roots-sentiment"


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="traditional-script accuracy (t2s normalisation) and 100k-char memory")
    p.add_argument("--train-size", type=int, default=3000, help="ChnSentiCorp train examples to fine-tune on")
    p.add_argument("--test-size", type=int, default=None, help="test examples (default: all 1,200)")
    p.add_argument("--doc-chars", type=int, default=100_000, help="length of the long document")
    p.add_argument("--model-dir", default=None,
                   help="a fine-tuned classifier directory (trained and saved there when missing); "
                        "default: the shipped roots-sentiment, else a quick fine-tune under work_dirs/")
    p.add_argument("--retrain", action="store_true", help="fine-tune even if --model-dir exists")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 300 train / 200 test examples, 20,000-char document, own model dir")
    p.set_defaults(func=run)


def _fine_tune(model_dir: Path, texts: List[str], labels: List[str]) -> Dict[str, Any]:
    from roots_zh.pipelines.text_classification import TextClassifier

    clf = TextClassifier.from_pretrained("roots-base", labels=["0", "1"], max_length=128)
    start = time.time()
    clf.fit(texts, labels, epochs=1, batch_size=32, learning_rate=2e-4, warmup_ratio=0.1, seed=42)
    seconds = time.time() - start
    clf.save_pretrained(model_dir)
    return {"train_examples": len(texts), "epochs": 1, "train_seconds": round(seconds, 1)}


_DOC_SCRIPT = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
task, model, normalize, doc = sys.argv[2], sys.argv[3], sys.argv[4], open(sys.argv[5], encoding="utf-8").read()
if task == "classify":
    from roots_zh.pipelines.text_classification import TextClassifier
    pipe = TextClassifier.from_pretrained(model, normalize=normalize)
    call = lambda text: pipe.predict(text)["label"]
elif task == "ner":
    from roots_zh.pipelines.token_classification import TokenClassifier
    pipe = TokenClassifier.from_pretrained(model, labels=["PER", "LOC", "ORG"] if model == "roots-base" else None)
    pipe.tokenizer.normalizer = normalize
    call = lambda text: len(pipe.predict(text)["entities"])
else:
    from roots_zh.pipelines.question_answering import QuestionAnswerer
    pipe = QuestionAnswerer.from_pretrained(model)
    pipe.tokenizer.normalizer = normalize
    call = lambda text: pipe.predict("這家酒店怎麼樣？", text)["answer"][:20]
call("warm up 這家酒店很好")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.time()
res = call(doc)
seconds = time.time() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"chars": len(doc), "result": res, "seconds": round(seconds, 3),
                  "rss_after_load_mb": round(before / 1024, 1), "peak_rss_mb": round(after / 1024, 1),
                  "peak_increase_mb": round((after - before) / 1024, 1)}))
"""


def _long_document(texts: List[str], n_chars: int) -> str:
    """Traditional-script reviews joined with web noise until ``n_chars`` chars."""
    noise = ["\u200b", "\ufeff", "ＡＢＣ１２３", "！！！", " https://example.com/評論?id=1 ", "\u202e", "@用戶 ", "#酒店#"]
    parts, total, i = [], 0, 0
    while total < n_chars:
        piece = texts[i % len(texts)] + noise[i % len(noise)]
        parts.append(piece)
        total += len(piece)
        i += 1
    return "".join(parts)[:n_chars]


_PIPELINES = {
    "classify": "TextClassifier (truncation to max_length)",
    "ner": "TokenClassifier (sliding windows)",
    "qa": "QuestionAnswerer (sliding windows)",
}


def _doc_run(task: str, model: str, doc_path: Path, normalize: str) -> Dict[str, Any]:
    """One long-document call in a fresh process: peak RSS is measured over the loaded pipeline."""
    proc = subprocess.run(
        [sys.executable, "-c", _DOC_SCRIPT, str(REPO_ROOT), task, model, normalize, str(doc_path)],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"long-document run ({task}) failed:\n{proc.stderr[-2000:]}")
    return {"pipeline": _PIPELINES[task], "model": model, "normalize": normalize,
            **json.loads(proc.stdout.strip().splitlines()[-1])}


def run(args: argparse.Namespace) -> int:
    from roots_zh.data.readers import load_classification_set
    from roots_zh.pipelines.text_classification import TextClassifier
    from roots_zh.tokenization.normalize import Normalizer, opencc_converter

    root = data_dir(args.data_dir)
    train_size, test_size, doc_chars = args.train_size, args.test_size, args.doc_chars
    if args.quick:
        train_size, test_size, doc_chars = 300, 200, 20_000
    train, _ = load_classification_set(root, "chnsenticorp", "train")
    test, _ = load_classification_set(root, "chnsenticorp", "test")
    test = test[:test_size] if test_size else test

    from roots_zh.hub import load_registry

    registry = load_registry()
    if args.model_dir is None and SHIPPED_MODEL in registry and not args.retrain:
        model_dir = Path(SHIPPED_MODEL)  # the shipped sentiment model: the figure users get
        training: Dict[str, Any] = {"shipped_model": SHIPPED_MODEL}
    else:
        model_dir = Path(args.model_dir or DEFAULT_MODEL_DIR.with_name("quick" if args.quick else DEFAULT_MODEL_DIR.name))
        training = {"reused": str(model_dir)}
        if args.retrain or not (model_dir / "config.json").is_file():
            subset = train[:train_size]
            training = _fine_tune(model_dir, [e.text for e in subset], [e.label for e in subset])
    clf = TextClassifier.from_pretrained(model_dir, normalize="none")

    s2t = opencc_converter("s2t")
    simp = [e.text for e in test]
    names = {"0": "负面", "1": "正面"} if clf.labels == ["负面", "正面"] else {}  # dataset ids -> label names
    gold = [names.get(e.label, e.label) for e in test]
    trad = [s2t.convert(t) for t in simp]
    changed = sum(a != b for s, t in zip(simp, trad) for a, b in zip(s, t))
    total = sum(len(s) for s in simp)

    rows = []
    for script, texts in (("simplified", simp), ("traditional", trad)):
        for normalize in ("none", "t2s"):
            clf.tokenizer.normalizer = normalize
            start = time.time()
            acc = clf.evaluate(texts, gold)["accuracy"]
            rows.append({"script": script, "normalize": normalize, "accuracy": round(100 * acc, 2),
                         "seconds": round(time.time() - start, 1)})
    print(format_table(rows, ["script", "normalize", "accuracy", "seconds"]))
    acc = {(r["script"], r["normalize"]): r["accuracy"] for r in rows}
    gap = round(acc[("simplified", "none")] - acc[("traditional", "t2s")], 2)
    print(f"traditional+t2s vs simplified: {gap:+.2f} points (target: within 2)")

    doc = _long_document(trad, doc_chars)
    norm_speed = {}
    for preset in ("basic", "web", "t2s"):
        normalizer = Normalizer.from_config(preset)
        start = time.perf_counter()
        normalizer.with_offsets(doc)
        norm_speed[preset] = round(len(doc) / (time.perf_counter() - start))
    print("normaliser chars/s on the long document:", norm_speed)

    long_runs = []
    work = DEFAULT_MODEL_DIR.parent / "long_doc.txt"  # under work_dirs (git-ignored), never the repo data
    work.parent.mkdir(parents=True, exist_ok=True)
    work.write_text(doc, encoding="utf-8")
    try:
        runs = [("classify", str(model_dir), n) for n in ("none", "t2s")]
        pipelines = REPO_ROOT / "roots_zh" / "pipelines"
        runs += [(task, shipped if shipped in registry else "roots-base", "t2s")
                 for task, name, shipped in (("ner", "token_classification", "roots-cluener"),
                                             ("qa", "question_answering", "roots-cmrc2018"))
                 if (pipelines / f"{name}.py").is_file()]
        for task, model, normalize in runs:
            long_runs.append(_doc_run(task, model, work, normalize))
            print(long_runs[-1])
    finally:
        work.unlink()

    payload = {
        "model_dir": str(model_dir),
        "quick": bool(args.quick),
        "training": training,
        "test_examples": len(test),
        "s2t_changed_char_fraction": round(changed / max(1, total), 4),
        "accuracy": rows,
        "gap_simplified_minus_traditional_t2s": gap,
        "normalizer_chars_per_second": norm_speed,
        "long_document": long_runs,
    }
    name = NAME + ("_quick" if args.quick else "")
    print("wrote", write_result(name, payload))
    refresh_sections(NAME, quick=args.quick)
    return 0


def markdown(result: dict) -> str:
    """The robustness section for BENCHMARKS.md."""
    lines = [f"## {TITLE} — `python tools/benchmark.py robustness` ({run_context(result)}; model "
             f"{result.get('model_dir')}, ChnSentiCorp test converted to traditional script with OpenCC s2t)", "",
             "| script | normalize | accuracy |", "|---|---|---:|"]
    lines += [f"| {r['script']} | {r['normalize']} | {r['accuracy']:.2f} |" for r in result.get("accuracy", [])]
    lines.append(f"\nGap simplified − traditional with `normalize=\"t2s\"`: **{result.get('gap_simplified_minus_traditional_t2s')}** "
                 "points (target ≤ 2).")
    docs = result.get("long_document", [])
    if docs:
        lines += ["", "| 100,000-character document | model | normalize | seconds | peak RSS MB (+ over loaded) |",
                  "|---|---|---|---:|---:|"]
        lines += [f"| {d['pipeline']} | {d.get('model', '')} | {d['normalize']} | {d['seconds']} | "
                  f"{d['peak_rss_mb']} (+{d['peak_increase_mb']}) |" for d in docs]
    return "\n".join(lines)
