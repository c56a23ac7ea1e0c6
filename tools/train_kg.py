#!/usr/bin/env python
"""Train TransE on a shared graph and report filtered link prediction (MRR, Hits@1/10).

    python tools/train_kg.py --graph dbp15k_zh --out work_dirs/kg/dbp15k_zh
    python tools/train_kg.py --graph medical --epochs 15 --out work_dirs/kg/medical

Writes the vectors + vocabularies, ``split.json`` (the seeded split record and the held-out test
triples by name) and ``metrics.json`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from roots_zh.knowledge.link_prediction import load_graph, save_embeddings, train_and_evaluate  # noqa: E402
from roots_zh.knowledge.transe import TransEArgs  # noqa: E402
from roots_zh.utils.env import set_cpu_threads  # noqa: E402
from roots_zh.utils.files import atomic_write_text  # noqa: E402
from roots_zh.utils.logs import log_to_stderr  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--graph", required=True, help="dbp15k_zh, medical, or a head<TAB>rel<TAB>tail file")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--out", default=None, help="directory for vectors, split and metrics")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--norm", type=int, default=1, choices=(1, 2))
    p.add_argument("--margin", type=float, default=4.0)
    p.add_argument("--negatives", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--max-seconds", type=float, default=None, help="stop training after this long")
    p.add_argument("--test-size", type=int, default=3000)
    p.add_argument("--eval-sample", type=int, default=2000, help="test triples ranked (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    log_to_stderr(fmt="%(asctime)s %(message)s")
    set_cpu_threads(args.threads)
    kg, report = load_graph(args.graph, args.data_dir)
    targs = TransEArgs(dim=args.dim, norm=args.norm, margin=args.margin, negatives=args.negatives,
                       batch_size=args.batch_size, learning_rate=args.lr, epochs=args.epochs,
                       max_seconds=args.max_seconds, seed=args.seed)
    model, result, _, test = train_and_evaluate(kg, targs, args.test_size, args.eval_sample or None, args.seed)
    result = {"graph": args.graph, "skipped_lines": report.skipped, **result}
    print(json.dumps({k: v for k, v in result.items() if k != "transe"}, ensure_ascii=False, indent=1))
    if args.out:
        out = Path(args.out)
        save_embeddings(out, kg, model, {"graph": args.graph})
        names = kg.entities.name
        test_named = [[names(h), kg.relations.name(r), names(t)] for h, r, t in test.tolist()]
        atomic_write_text(out / "split.json", json.dumps({**result["split"], "test_triples": test_named},
                                                         ensure_ascii=False) + "\n")
        atomic_write_text(out / "metrics.json", json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
