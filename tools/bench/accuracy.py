"""`accuracy`: the shipped task models on the real sets, next to published anchors and baselines
measured in the same run, with a floor check that fails loudly.

Each task folder with a ``benchmark.json`` takes part::

    {"kind": "classification", "model": "roots-sentiment", "dataset": "chnsenticorp", "split": "test",
     "metric": "accuracy", "floor": 0.88, "quick_floor": 0.85, "quick_n": 400,
     "anchors": {"BERT-base (102 M)": 95.0}, "baselines": ["tfidf_lr"]}

``--quick`` evaluates the first ``quick_n`` examples (deterministic) against ``quick_floor``.
Kinds are evaluated by the functions in ``EVALUATORS`` (one per pipeline family).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .common import REPO_ROOT, RESULTS_DIR, BaselineSkipped, data_dir, format_table, write_result
from .report import refresh_sections

NAME = "accuracy"
TITLE = "Task accuracy"
TASKS_DIR = REPO_ROOT / "tasks"


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="shipped task models on the real sets, anchors, baselines, floors")
    p.add_argument("--quick", action="store_true", help="first quick_n examples of each set, quick floors")
    p.add_argument("--tasks", nargs="*", help="only these task folders")
    p.add_argument("--data-dir")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--skip-baselines", nargs="*", default=[],
                   help="baselines to leave out (e.g. random_init paddlenlp_same_size)")
    p.add_argument("--model", help="a candidate (a fine-tuned directory, e.g. work_dirs/ft/RUN/final) scored in "
                   "place of each row's shipped model; needs --tasks; writes no results and checks no floors")
    p.set_defaults(func=run)


def task_specs(only: Optional[List[str]] = None) -> Dict[str, dict]:
    specs = {}
    for path in sorted(TASKS_DIR.glob("*/benchmark.json")):
        name = path.parent.name
        if only and name not in only:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, spec in enumerate(data if isinstance(data, list) else [data]):  # a list: several sets
            for key in ("kind", "model", "metric", "floor"):
                if key not in spec:
                    raise ValueError(f"{path}: entry {i} lacks field {key!r}")
            specs[spec.get("name", name)] = spec
    return specs


# ---------------------------------------------------------------------------------------- evaluators
def _classification_data(spec: dict, root: Path, split: str, limit: Optional[int]):
    from roots_zh.data.readers import load_classification_set

    examples, _ = load_classification_set(root, spec["dataset"], split)
    examples = examples[:limit] if limit else examples
    names = spec.get("label_names") or {}
    texts = [e.text for e in examples]
    pairs = [e.text_pair for e in examples] if examples and examples[0].text_pair is not None else None
    labels = [names.get(e.label, e.label) for e in examples]
    return texts, pairs, labels


def eval_classification(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    from roots_zh.pipelines.text_classification import TextClassifier

    texts, pairs, labels = _classification_data(spec, root, spec["split"], limit)
    clf = TextClassifier.from_pretrained(spec["model"], max_length=spec.get("max_length", 128))
    return clf.evaluate(texts, labels, pairs)


def eval_similarity(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """A ``TextSimilarity`` on labelled pairs: accuracy at its saved threshold, AUC, per-class recall."""
    from roots_zh.pipelines.text_similarity import TextSimilarity

    texts, pairs, labels = _classification_data(spec, root, spec["split"], limit)
    return TextSimilarity.from_pretrained(spec["model"], max_length=spec.get("max_length", 64)).evaluate(
        texts, pairs, labels)


def baseline_tfidf_lr(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """jieba words + TF-IDF (uni+bigrams) + logistic regression, trained on the task's train split
    (``roots_zh.training.tfidf_teacher.TfidfClassifier``)."""
    import numpy as np

    from roots_zh.training.tfidf_teacher import TfidfClassifier

    tr_x, tr_p, tr_y = _classification_data(spec, root, spec.get("train_split", "train"), None)
    te_x, te_p, te_y = _classification_data(spec, root, spec["split"], limit)
    pred = TfidfClassifier().fit(tr_x, tr_y, tr_p).predict(te_x, te_p)
    return {"accuracy": float((pred == np.asarray(te_y)).mean()), "n": len(te_y)}


def _finetune_from_random(spec: dict, root: Path, init: str) -> Dict[str, float]:
    """``tools/finetune.py --init <init>`` on the task recipe (roots-base tokenizer and size); writes
    ``benchmarks/results/finetune_<recipe>_<init>.json`` and returns the metrics of the spec's split."""
    if str(REPO_ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "tools"))
    from finetune import run as finetune_run, save_result

    out = REPO_ROOT / "work_dirs" / "bench" / f"{init}_{spec['recipe']}"
    result = finetune_run(spec["recipe"], "roots-base", init, out, root)
    print("wrote", save_result(result))
    return result["test" if spec["split"] == "test" else "dev"]


def baseline_random_init(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """The same architecture and tokenizer from random weights, trained with the task recipe
    (``tools/finetune.py --init random``; full mode only: it trains for minutes)."""
    return _finetune_from_random(spec, root, "random")


def baseline_paddlenlp_same_size(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    """PaddleNLP's ``ErnieForSequenceClassification`` of roots-base's size from random weights, same
    tokenizer, recipe and training loop as ``random_init`` (``tools/finetune.py --init paddlenlp``;
    full mode only). Without an importable paddlenlp it raises ``BaselineSkipped`` (reported, not a
    failure)."""
    return _finetune_from_random(spec, root, "paddlenlp")


def _lazy(module: str, func: str) -> Callable:
    def call(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import importlib

        return getattr(importlib.import_module(module), func)(spec, root, limit)
    return call


FULL_ONLY_BASELINES = {"random_init", "paddlenlp_same_size"}
EVALUATORS: Dict[str, Callable] = {
    "classification": eval_classification,
    "similarity": eval_similarity,
    "ner": _lazy("bench.accuracy_spans", "eval_ner"),
    "qa": _lazy("bench.accuracy_spans", "eval_qa"),
    "cws": _lazy("bench.accuracy_spans", "eval_cws"),
    "summarization": _lazy("bench.accuracy_seq2seq", "eval_summarization"),
    "translation": _lazy("bench.accuracy_seq2seq", "eval_translation"),
}
BASELINES: Dict[str, Callable] = {
    "tfidf_lr": baseline_tfidf_lr,
    "random_init": baseline_random_init,
    "paddlenlp_same_size": baseline_paddlenlp_same_size,
    "lead": _lazy("bench.accuracy_seq2seq", "baseline_lead"),
    "textrank": _lazy("bench.accuracy_seq2seq", "baseline_textrank"),
    "snownlp_summary": _lazy("bench.accuracy_seq2seq", "baseline_snownlp_summary"),
    # offline peers (pip install -e .[peers]; skipped with a message when missing): bench/peers.py
    "snownlp": _lazy("bench.peers", "baseline_snownlp"),
    "jiagu": _lazy("bench.peers", "baseline_jiagu"),
    "thulac_ner": _lazy("bench.peers", "baseline_thulac_ner"),
    "jieba_ner": _lazy("bench.peers", "baseline_jieba_ner"),
    "jieba_cws": _lazy("bench.peers", "baseline_jieba_cws"),
    "jieba_no_hmm_cws": _lazy("bench.peers", "baseline_jieba_no_hmm_cws"),
    "thulac_cws": _lazy("bench.peers", "baseline_thulac_cws"),
}


# ---------------------------------------------------------------------------------------- run
def _percent(value: float, spec: dict) -> float:
    """Scores on a 0..100 scale; ``"scale": 100`` in benchmark.json marks metrics already there."""
    return round(value * (100.0 / spec.get("scale", 1.0)), 2)


def run_baselines(task: str, spec: dict, root: Path, limit: Optional[int], quick: bool = False,
                  skip: Sequence[str] = (), details: Optional[Dict[str, dict]] = None
                  ) -> Tuple[Dict[str, float], List[str]]:
    """``({baseline: score}, [skip reasons])`` for the baselines ``spec`` declares; full-only ones
    are left out in quick mode, ``skip`` ones always; a ``BaselineSkipped`` is reported, not raised.
    ``details`` (a dict) receives each baseline's full metrics (e.g. a peer's texts/s)."""
    unknown = [name for name in spec.get("baselines", []) if name not in BASELINES]
    if unknown:
        raise ValueError(f"{task}: unknown baselines {unknown}; known: {sorted(BASELINES)}")
    scores, skipped = {}, []
    for name in spec.get("baselines", []):
        if (quick and name in FULL_ONLY_BASELINES) or name in skip:
            continue
        try:
            metrics = BASELINES[name](spec, root, limit)
            scores[name] = _percent(metrics[spec["metric"]], spec)
            if details is not None:  # everything but per-text lists
                details[name] = {k: v for k, v in metrics.items() if not isinstance(v, list)}
        except BaselineSkipped as exc:
            skipped.append(f"{task}: baseline {name} skipped: {exc}")
    return scores, skipped


def run(args: argparse.Namespace) -> int:
    from roots_zh.hub import load_registry

    root = data_dir(args.data_dir)
    registry = load_registry()
    rows, failures, skipped = [], [], []
    candidate = getattr(args, "model", None)
    if candidate and not args.tasks:
        raise ValueError("--model scores a candidate on the rows of --tasks; name them")
    for task, spec in task_specs(args.tasks).items():
        if candidate:
            spec = {**spec, "model": candidate}
        elif spec["model"] not in registry:
            skipped.append(f"{task}: model {spec['model']} is not shipped")
            continue
        limit = spec.get("quick_n", 400) if args.quick else None
        floor = spec.get("quick_floor", spec["floor"]) if args.quick else spec["floor"]
        start = time.time()
        metrics = EVALUATORS[spec["kind"]](spec, root, limit)
        seconds = time.time() - start
        value = metrics[spec["metric"]]
        row = {"task": task, "model": spec["model"], "split": spec.get("split", ""), "metric": spec["metric"],
               "score": _percent(value, spec), "floor": _percent(floor, spec),
               "n": metrics.get("n"), "seconds": round(seconds, 1), "all_metrics": metrics,
               "anchors": spec.get("anchors", {}), "baselines": {}}
        if not args.no_baselines:
            row["baselines"], why = run_baselines(task, spec, root, limit, args.quick, args.skip_baselines,
                                                  details=row.setdefault("baseline_metrics", {}))
            skipped += why
        if value < floor:
            failures.append(f"{task}: {spec['metric']} {row['score']} < floor {row['floor']} ({spec['model']})")
        rows.append(row)
        print(f"{task}: {spec['metric']}={row['score']} (floor {row['floor']}) baselines={row['baselines']}",
              flush=True)
        if speed_line(row):
            print(f"  {speed_line(row)}", flush=True)
    table = [{"task": r["task"], "metric": r["metric"], "score": r["score"], "floor": r["floor"],
              **{f"baseline {k}": v for k, v in r["baselines"].items()},
              "anchors": "; ".join(f"{k} {v}" for k, v in r["anchors"].items())} for r in rows]
    cols = ["task", "metric", "score", "floor"] + sorted({k for t in table for k in t if k.startswith("baseline")}) + ["anchors"]
    print(format_table(table, cols))
    for line in skipped:
        print("skipped:", line)
    if candidate:  # a candidate is compared, not recorded
        return 0
    name = NAME + ("_quick" if args.quick else "")
    previous = RESULTS_DIR / f"{name}.json"
    if args.tasks and previous.is_file():  # a partial run updates its tasks, keeps the others' rows
        done, known = {r["task"] for r in rows}, set(task_specs())  # rows of removed specs are dropped
        kept = [r for r in json.loads(previous.read_text(encoding="utf-8")).get("rows", [])
                if r["task"] not in done and r["task"] in known]
        rows = sorted(kept + rows, key=lambda r: r["task"])
    write_result(name, {"quick": args.quick, "rows": rows, "skipped": skipped, "failures": failures})
    refresh_sections(NAME, "finetune", quick=args.quick)  # finetune: paddlenlp_same_size results
    if failures:
        print("\nFLOOR CHECK FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def markdown(result: dict) -> str:
    """The accuracy table for BENCHMARKS.md (and a bar chart next to it)."""
    rows = result.get("rows", [])
    if not rows:
        return ""
    mode = "quick (subsets)" if result.get("quick") else "full sets"
    env = result.get("environment", {})
    lines = [f"## Task accuracy — `python tools/benchmark.py accuracy{' --quick' if result.get('quick') else ''}` "
             f"({mode}; {env.get('time', '')[:10]}, {env.get('cpu_count')} CPU cores)", "",
             "| task | model | split (n) | metric | ROOTS | floor | baselines (same run) | published anchors |",
             "|---|---|---|---|---:|---:|---|---|"]
    for r in rows:
        base = "; ".join(f"{k} {v}" for k, v in r.get("baselines", {}).items()) or "—"
        anchors = "; ".join(f"{k} {v}" for k, v in r.get("anchors", {}).items()) or "—"
        lines.append(f"| {r['task']} | {r['model']} | {r['split']} ({r.get('n')}) | {r['metric']} | "
                     f"**{r['score']}** | {r['floor']} | {base} | {anchors} |")
    speeds = [line for line in map(speed_line, rows) if line]
    if speeds:
        lines += ["", "Speed in the same run (segmentation time only, one batched call for ROOTS; peers one "
                  "sentence at a time):", ""] + [f"- {line}" for line in speeds]
    trained_on = [line for line in map(peer_training_line, rows) if line]
    if trained_on:
        lines += ["", "Peers trained on the test texts (their shipped training files, whitespace aside):", ""] + [
            f"- {line}" for line in trained_on]
    for s in result.get("skipped", []):
        lines.append(f"\nSkipped: {s}")
    chart = _chart(rows, "accuracy_quick.png" if result.get("quick") else "accuracy.png")
    if chart:
        lines += ["", f"![accuracy]({chart})"]
    return "\n".join(lines)


def peer_training_line(row: dict) -> str:
    """``task: snownlp was trained on N of the n texts; on the other M: x %`` for baselines whose metrics
    carry ``n_in_training`` (bench.peers' sentiment baselines), else ``""``."""
    parts = []
    for name, m in row.get("baseline_metrics", {}).items():
        if m.get("n_in_training") is None:
            continue
        other = "—" if m.get("unseen_accuracy") is None else f"{100 * m['unseen_accuracy']:.2f}"
        parts.append(f"{name} was trained on {m['n_in_training']:,} of the {m['n']:,} texts "
                     f"({100 * m['n_in_training'] / max(1, m['n']):.1f} %); on the other {m['n_unseen']:,}: {other}")
    return f"{row['task']}: " + "; ".join(parts) if parts else ""


def speed_line(row: dict) -> str:
    """``task: <model> (backend) N sentences/s, ... ; peer N; ...`` for a row whose metrics carry
    ``sentences_per_s`` (word segmentation), else ``""``."""
    metrics = row.get("all_metrics", {})
    if metrics.get("sentences_per_s") is None:
        return ""
    model = row.get("model", "ROOTS")
    parts = [f"{model} ({metrics.get('backend') or 'dygraph'}) {metrics['sentences_per_s']:,}"]
    for key, value in metrics.items():
        other = key[:-len("_sentences_per_s")] if key.endswith("_sentences_per_s") else None
        if other and value is not None:
            diff = metrics.get(f"{other}_differing_sentences")
            parts.append(f"{model} ({other}) {value:,}" + (
                f" ({diff} of {metrics.get('sentences')} sentences segmented differently)" if diff is not None else ""))
    peers = [f"{name} {m['sentences_per_s']:,}" for name, m in row.get("baseline_metrics", {}).items()
             if m.get("sentences_per_s") is not None]
    return f"{row['task']}: " + ", ".join(parts) + (f"; {'; '.join(peers)}" if peers else "") + " sentences/s"


def _chart(rows, filename: str) -> Optional[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    labels = [r["task"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(rows)), 3.6))
    width = 0.25
    xs = range(len(rows))
    ax.bar([x - width for x in xs], [r["score"] for r in rows], width, label="ROOTS (shipped)")
    ax.bar(list(xs), [next(iter(r.get("baselines", {}).values()), 0) for r in rows], width, label="baseline")
    ax.bar([x + width for x in xs], [max(r.get("anchors", {}).values(), default=0) for r in rows], width,
           label="best published anchor")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels)
    ax.set_ylabel("score")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = REPO_ROOT / "benchmarks" / filename
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return f"benchmarks/{filename}"
