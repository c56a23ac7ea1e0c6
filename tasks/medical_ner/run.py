#!/usr/bin/env python
"""Medical NER (K-BERT ``medical_ner``) with and without the knowledge fusion layer.

Same data, tokenizer, recipe and seeds for both arms; the only difference is the fusion layer
fed with ``entity_ids`` from the Aho-Corasick linker over the medical KG (medical_kg_xywy entities +
K-BERT Medical.spo terms), each token getting ``[entity, type/B-or-I, type/B-or-I]``; entity rows
are initialised from TransE vectors (``tools/train_kg.py --graph medical --out work_dirs/kg/medical``)
when present.

    python tasks/medical_ner/run.py --seeds 1 2 3 --train-size 3000 --out work_dirs/medical_ner
"""
from __future__ import annotations

import argparse
import gzip
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from roots_zh.data.ner_qa import tag_names  # noqa: E402
from roots_zh.knowledge.annotate import EntityAnnotator  # noqa: E402
from roots_zh.knowledge.linker import EntityLinker  # noqa: E402
from roots_zh.knowledge.ner_data import decode_tags, encode_sentence, read_bio_tsv, span_f1  # noqa: E402
from roots_zh.utils.files import atomic_write_text  # noqa: E402

logger = logging.getLogger("medical_ner")
TYPES = ["BodyPart", "Cure", "Disease", "Examine", "Symptom"]
K = 3


def build_knowledge(kg_dir: Path, transe_dir: Path):
    """Entity vocabulary (TransE row order first), linker, annotator, and the TransE vectors."""
    names: List[str] = []
    vectors = None
    if (transe_dir / "entities.txt").is_file():
        from roots_zh.knowledge.link_prediction import load_embeddings

        names, vectors = load_embeddings(transe_dir)
    types: Dict[str, List[str]] = {}
    with gzip.open(kg_dir / "medical_kg_xywy" / "entities.tsv.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            name, _, kinds = line.rstrip("\n").partition("\t")
            types.setdefault(name, []).extend(k for k in kinds.split("|") if k)
    with open(kg_dir / "kbert" / "kgs" / "Medical.spo", encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                types.setdefault(parts[0], [])
                if parts[2] not in types[parts[0]]:
                    types[parts[0]].append(parts[2])
    known = set(names)
    names += sorted(n for n in types if n not in known)
    entity_id = {n: i + 1 for i, n in enumerate(names)}  # 0 = no entity
    type_names = sorted({t for ts in types.values() for t in ts})
    type_ids = {f"{t}/{m}": len(names) + 1 + 2 * i + j for i, t in enumerate(type_names) for j, m in enumerate("BI")}
    linker = EntityLinker({n: entity_id[n] for n in names}, min_length=2)
    entity_types = {entity_id[n]: ts for n, ts in types.items()}
    annotator = EntityAnnotator(linker, entity_types, type_ids, k=K)
    num_entities = len(names) + 1 + len(type_ids)
    return annotator, num_entities, vectors, {"entities": len(names), "names_in_linker": len(linker),
                                              "types": type_names, "transe_rows": 0 if vectors is None else len(vectors)}


def featurize(rows, tokenizer, label2id, annotator, max_length):
    feats = []
    for chars, tags in rows:
        slots = annotator.slots("".join(chars)) if all(len(c) == 1 for c in chars) else None
        if slots is None:  # multi-character "chars": annotate per char position
            slots = [[0] * K for _ in chars]
        feats.append(encode_sentence(tokenizer, chars, tags, label2id, max_length, char_entities=slots))
    return feats


def coverage(rows, feats) -> Dict[str, float]:
    """How much of the gold entity text the linker marks (a sanity figure, not a metric)."""
    gold_chars = linked_gold = linked = total = 0
    for (chars, tags), f in zip(rows, feats):
        ent_tok = [bool(e[0]) for e in f["entity_ids"]]
        for lab, is_linked in zip(f["labels"], ent_tok):
            if lab == -100:
                continue
            total += 1
            linked += is_linked
            if lab != 0:
                gold_chars += 1
                linked_gold += is_linked
    return {"tokens_linked": linked / max(1, total), "entity_tokens_linked": linked_gold / max(1, gold_chars)}


def predict_tags(model, feats, rows, id2label, use_entities, batch_size=64):
    """Character tags per sentence: the library's dygraph backend (eval, no grad) on padded batches of
    the features (with ``entity_ids`` for the fusion arm), each token's argmax tag on its characters."""
    from roots_zh.data.collate import pad_batch
    from roots_zh.inference.backend import DygraphBackend

    keys = ["input_ids", "attention_mask"] + (["entity_ids"] if use_entities else [])
    backend = DygraphBackend(model, ("logits",), keys)
    out = []
    for i in range(0, len(feats), batch_size):
        chunk = feats[i:i + batch_size]
        logits = backend.run(pad_batch([{k: f[k] for k in keys} for f in chunk], {}))[0]
        for j, f in enumerate(chunk):
            n = len(f["input_ids"])
            out.append(decode_tags(logits[j, :n].argmax(-1), f, id2label, len(rows[i + j][0])))
    return out


def run_arm(fusion: bool, seed: int, train_feats, dev, test, labels, num_entities, vectors, args) -> Dict:
    from roots_zh.modeling import RootsForTokenClassification
    from roots_zh.training.trainer import Trainer, TrainingArgs

    id2label = dict(enumerate(labels))
    overrides = {"num_labels": len(labels), "id2label": id2label}
    if fusion:
        dim = vectors.shape[1] if vectors is not None else 100
        overrides["knowledge_fusion"] = {"num_entities": num_entities, "entity_dim": int(dim),
                                         "gate_bias": args.gate_bias}
    keep = ["input_ids", "attention_mask", "labels"] + (["entity_ids"] if fusion else [])
    import paddle

    paddle.seed(seed)
    model = RootsForTokenClassification.from_pretrained(args.model, **overrides)
    if fusion and vectors is not None:
        model.roots.knowledge_fusion.load_entity_vectors(vectors, first_id=1)
    model.train()
    features = [{k: f[k] for k in keep} for f in train_feats]
    targs = TrainingArgs(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                         warmup_ratio=0.1, seed=seed, metric="f1", threads=args.threads)
    start = time.time()
    Trainer(model, targs, features, pad_ids={"labels": -100}).train()
    train_s = time.time() - start
    result = {"fusion": fusion, "seed": seed, "train_seconds": round(train_s, 1)}
    for name, (rows, feats) in (("dev", dev), ("test", test)):
        pred = predict_tags(model, feats, rows, id2label, fusion)
        result[name] = span_f1(pred, [t for _, t in rows])
    if fusion:
        result["gate_mean"] = float(1 / (1 + np.exp(-model.roots.knowledge_fusion.gate.bias.numpy())).mean())
    logger.info("%s", result)
    return result


def summarize(results: List[Dict]) -> Dict:
    out = {}
    for arm in (False, True):
        runs = [r for r in results if r["fusion"] == arm]
        if not runs:
            continue
        key = "with_fusion" if arm else "without_fusion"
        for split in ("dev", "test"):
            f1s = [r[split]["f1"] for r in runs]
            out[f"{key}_{split}_f1_mean"] = statistics.mean(f1s)
            out[f"{key}_{split}_f1_std"] = statistics.stdev(f1s) if len(f1s) > 1 else 0.0
            out[f"{key}_{split}_f1_min_max"] = [min(f1s), max(f1s)]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--transe-dir", default=str(REPO / "work_dirs" / "kg" / "medical"))
    p.add_argument("--model", default="roots-base")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--arms", choices=["both", "fusion", "plain"], default="both")
    p.add_argument("--train-size", type=int, default=3000, help="seeded subset of train (0 = all)")
    p.add_argument("--eval-size", type=int, default=0, help="first N dev/test sentences (0 = all)")
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--gate-bias", type=float, default=-2.0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=str(REPO / "work_dirs" / "medical_ner"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from roots_zh.tokenization import AutoTokenizer

    kg = Path(args.data_dir) / "kg"
    annotator, num_entities, vectors, kinfo = build_knowledge(kg, Path(args.transe_dir))
    tokenizer = AutoTokenizer.from_pretrained(REPO / "pretrained" / args.model)
    labels = tag_names(sorted(TYPES), "BIO")
    label2id = {l: i for i, l in enumerate(labels)}
    ner = kg / "kbert" / "medical_ner"
    train_rows, _ = read_bio_tsv(ner / "train.tsv.gz")
    if args.train_size and args.train_size < len(train_rows):
        pick = np.sort(np.random.default_rng(0).choice(len(train_rows), args.train_size, replace=False))
        train_rows = [train_rows[i] for i in pick]
    splits = {}
    for name in ("dev", "test"):
        rows, _ = read_bio_tsv(ner / f"{name}.tsv")
        rows = rows[: args.eval_size] if args.eval_size else rows
        splits[name] = (rows, featurize(rows, tokenizer, label2id, annotator, args.max_length))
    train_feats = featurize(train_rows, tokenizer, label2id, annotator, args.max_length)
    kinfo["linker_coverage_train"] = coverage(train_rows, train_feats)
    logger.info("knowledge: %s", kinfo)
    arms = {"both": [False, True], "fusion": [True], "plain": [False]}[args.arms]
    results = [run_arm(arm, seed, train_feats, splits["dev"], splits["test"], labels, num_entities, vectors, args)
               for seed in args.seeds for arm in arms]
    report = {"recipe": {k: v for k, v in vars(args).items() if k not in ("data_dir", "out")},
              "train_sentences": len(train_rows), "dev_sentences": len(splits["dev"][0]),
              "test_sentences": len(splits["test"][0]), "knowledge": kinfo, "runs": results,
              "summary": summarize(results)}
    print(json.dumps(report["summary"], indent=1))
    out = Path(args.out)
    atomic_write_text(out / f"comparison_{args.arms}.json", json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
