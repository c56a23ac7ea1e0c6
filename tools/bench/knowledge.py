"""`knowledge`: TransE link prediction (DBP15K-ZH, medical KG), dictionary entity linking
(CN-DBpedia EL mention P/R/F1, chars/s), the speed cost of the knowledge fusion layer, and the
medical NER comparison with/without fusion (from ``tasks/medical_ner/run.py``'s result files).

TransE figures are read from ``tools/train_kg.py --out`` directories (``metrics.json``) when present,
else trained here (``--transe-epochs``/``--transe-seconds``). The NER comparison is too long for a
benchmark run and is read from ``work_dirs/medical_ner/comparison_{plain,fusion}.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .common import REPO_ROOT, data_dir, format_table, run_context, write_result
from .report import refresh_sections

NAME = "knowledge"
TITLE = "Knowledge"
EL_SOURCES = ("dbp15k", "kgclue", "nlpcc", "medical")


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="TransE MRR/Hits, linker P/R/F1 + chars/s, fusion cost, medical NER")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--kg-runs", default=str(REPO_ROOT / "work_dirs" / "kg"),
                   help="directory with tools/train_kg.py outputs <graph>/metrics.json")
    p.add_argument("--retrain", action="store_true", help="train TransE here even when metrics exist")
    p.add_argument("--transe-epochs", type=int, default=40)
    p.add_argument("--transe-seconds", type=float, default=180.0)
    p.add_argument("--ner-runs", default=str(REPO_ROOT / "work_dirs" / "medical_ner"))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--k", type=int, default=3, help="entity slots per token")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="fewer timing repeats, no TransE training")
    p.set_defaults(func=run)


def _transe(args, root: Path) -> list:
    from roots_zh.knowledge.link_prediction import load_graph, train_and_evaluate
    from roots_zh.knowledge.transe import TransEArgs

    rows = []
    for graph in ("dbp15k_zh", "medical"):
        path = Path(args.kg_runs) / graph / "metrics.json"
        if path.is_file() and not args.retrain:
            result = json.loads(path.read_text(encoding="utf-8"))
            result["source"] = str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)
        elif args.quick:
            continue
        else:
            kg, _ = load_graph(graph, root)
            targs = TransEArgs(epochs=args.transe_epochs, max_seconds=args.transe_seconds)
            _, result, _, _ = train_and_evaluate(kg, targs, test_size=3000, eval_sample=2000, split_seed=0)
            result["source"] = "trained in this run"
        rows.append({"graph": graph, **{k: result[k] for k in ("entities", "relations", "triples", "mrr",
                                                               "hits@1", "hits@10", "mean_rank",
                                                               "evaluated_test_triples", "epochs_run",
                                                               "train_seconds", "source")},
                     "split": result["split"], "transe": result["transe"]})
    return rows


def _linker(root: Path) -> dict:
    from roots_zh.knowledge.linker import EntityLinker
    from roots_zh.knowledge.resources import dictionary_names, mention_prf, read_cndbpedia_el

    names_by_source = dictionary_names(root / "kg", EL_SOURCES)
    names = set().union(*names_by_source.values())
    rows, _ = read_cndbpedia_el(root / "kg" / "cndbpedia_el" / "test.txt")
    texts, gold = [r[0] for r in rows], [r[1] for r in rows]
    out = {"dictionary": {s: len(v) for s, v in names_by_source.items()},
           "dictionary_note": "names from DBP15K-ZH titles, KgCLUE + NLPCC-2016 gold-triple subjects/objects, "
                              "medical_kg_xywy entities; disambiguation suffixes stripped; min length 2; "
                              "CN-DBpedia KB absent, EL test names not used",
           "backends": []}
    corpus = "\n".join(texts) * 10  # 1,037 real short texts, repeated for a stable timing
    for backend in ("ahocorasick", "python"):
        start = time.perf_counter()
        linker = EntityLinker(names, backend=backend)
        linker.spans("预热")
        build = time.perf_counter() - start
        pred = [[m.text for m in linker.find(t)] for t in texts]
        start = time.perf_counter()
        linker.spans(corpus)
        per_text_start = time.perf_counter()
        for t in texts:
            linker.find(t)
        per_text = time.perf_counter() - per_text_start
        out["backends"].append({"backend": backend, "names": len(linker), "build_seconds": round(build, 2),
                                "chars_per_s_long_text": len(corpus) / (per_text_start - start),
                                "chars_per_s_short_texts": sum(map(len, texts)) / per_text,
                                **{k: v for k, v in mention_prf(pred, gold).items()}})
    return out


def _fusion_speed(args) -> list:
    import numpy as np
    import paddle

    from roots_zh.modeling import RootsConfig, RootsForTokenClassification

    paddle.base.core.set_num_threads(2)
    cfg = RootsConfig.from_pretrained(REPO_ROOT / "pretrained" / "roots-base").to_dict()
    cfg.pop("model_type", None)
    rng = np.random.default_rng(0)
    B, S, K = args.batch_size, args.seq_len, args.k
    ids = paddle.to_tensor(rng.integers(5, cfg["vocab_size"], (B, S)))
    ent = rng.integers(1, 30000, (B, S, K))
    ent[rng.random((B, S)) < 0.75] = 0  # about a quarter of tokens linked (as in medical NER)
    ent = paddle.to_tensor(ent)
    plain = RootsForTokenClassification(RootsConfig.from_dict({**cfg, "num_labels": 11}))
    fused = RootsForTokenClassification(RootsConfig.from_dict(
        {**cfg, "num_labels": 11, "knowledge_fusion": {"num_entities": 30000, "entity_dim": 100}}))
    rows = []
    for label, model, feeds in (("without fusion", plain, {}), ("with fusion (K=%d)" % K, fused, {"entity_ids": ent})):
        model.eval()
        with paddle.no_grad():
            model(ids, **feeds)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                model(ids, **feeds).logits.numpy()
                times.append(time.perf_counter() - start)
        rows.append({"variant": label, "backend": "dygraph", "ms_per_batch": 1000 * float(np.median(times)),
                     "params": model.num_parameters()})
    rows[1]["ratio_vs_without"] = rows[1]["ms_per_batch"] / rows[0]["ms_per_batch"]
    return rows


def _ner(args) -> dict:
    out = {}
    for arm in ("plain", "fusion", "both"):
        path = Path(args.ner_runs) / f"comparison_{arm}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            out[arm] = {"source": str(path), "recipe": data["recipe"], "train_sentences": data["train_sentences"],
                        "knowledge": data["knowledge"], "summary": data["summary"],
                        "runs": [{k: r[k] for k in ("fusion", "seed", "train_seconds", "dev", "test")} for r in data["runs"]]}
    return out or {"note": "no results: run tasks/medical_ner/run.py first"}


def run(args: argparse.Namespace) -> int:
    if args.quick:
        args.repeats = 2
    root = data_dir(args.data_dir)
    transe = _transe(args, root)
    if transe:
        print(format_table(transe, ["graph", "entities", "triples", "mrr", "hits@1", "hits@10", "evaluated_test_triples"]))
    linker = _linker(root)
    print(format_table(linker["backends"], ["backend", "names", "build_seconds", "precision", "recall", "f1",
                                            "chars_per_s_long_text", "chars_per_s_short_texts"]))
    fusion = _fusion_speed(args)
    print(format_table(fusion, ["variant", "backend", "ms_per_batch", "params", "ratio_vs_without"]))
    ner = _ner(args)
    for arm, data in ner.items():
        if isinstance(data, dict) and "summary" in data:
            print(arm, json.dumps(data["summary"]))
    write_result(NAME, {"transe": transe, "linker": linker, "fusion_speed": {
        "batch_size": args.batch_size, "seq_len": args.seq_len, "k": args.k, "rows": fusion}, "medical_ner": ner,
        "quick": bool(args.quick)})
    refresh_sections(NAME, quick=args.quick)
    return 0


def markdown(result: dict) -> str:
    """The knowledge section for BENCHMARKS.md."""
    lines = [f"## {TITLE} — `python tools/benchmark.py knowledge` ({run_context(result)})", "",
             "| TransE graph | entities / relations / triples | MRR | Hits@1 | Hits@10 | test triples ranked (filtered) |",
             "|---|---|---:|---:|---:|---:|"]
    for t in result.get("transe", []):
        lines.append(f"| {t['graph']} | {t['entities']:,} / {t['relations']:,} / {t['triples']:,} | {t['mrr']:.3f} | "
                     f"{t['hits@1']:.3f} | {t['hits@10']:.3f} | {t['evaluated_test_triples']:,} |")
    linker = result.get("linker", {})
    if linker.get("backends"):
        lines += ["", f"Entity linker on CN-DBpedia EL (mention detection; {linker.get('dictionary_note', '')}):", "",
                  "| backend | names | P | R | F1 | chars/s |", "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {b['backend']} | {b['names']:,} | {b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f} | "
                  f"{b['chars_per_s_long_text']:,.0f} |" for b in linker["backends"]]
    fusion = result.get("fusion_speed", {})
    if fusion.get("rows"):
        lines += ["", f"Fusion layer cost (batch {fusion['batch_size']} × {fusion['seq_len']}, K={fusion['k']}): "
                  + "; ".join(json.dumps(r, ensure_ascii=False) for r in fusion["rows"])]
    ner = result.get("medical_ner") or {}
    if ner:
        lines += ["", "Medical NER (K-BERT set, 3 seeds each, same recipe; `tasks/medical_ner/README.md`):", "",
                  "| arm | dev F1 mean ± std | test F1 mean ± std |", "|---|---:|---:|"]
        for arm, data in ner.items():
            summary = data.get("summary", {}) if isinstance(data, dict) else {}
            pick = lambda split, stat: next((v for k, v in summary.items()  # noqa: E731
                                             if k.endswith(f"{split}_f1_{stat}")), float("nan"))
            lines.append(f"| {arm} | {100 * pick('dev', 'mean'):.2f} ± {100 * pick('dev', 'std'):.2f} | "
                         f"{100 * pick('test', 'mean'):.2f} ± {100 * pick('test', 'std'):.2f} |")
    return "\n".join(lines)
