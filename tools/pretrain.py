#!/usr/bin/env python
"""Pretrain roots-base: `prepare` the corpus, `train` (resumable, data parallel), `release` fp16.

    python tools/pretrain.py prepare --corpus ../shared/data/corpus --out work_dirs/corpus
    python tools/pretrain.py train --data work_dirs/corpus --out work_dirs/pretrain [--resume]
    python -m paddle.distributed.launch --nproc_per_node 2 tools/pretrain.py train ...
    python tools/pretrain.py release --out work_dirs/pretrain --to pretrained/roots-base
"""
from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from roots_zh.training.pretrain import PretrainArgs  # noqa: E402
from roots_zh.utils.logs import log_to_stderr  # noqa: E402

DEFAULT_TOKENIZER = ROOT / "pretrained" / "roots-base"


def _file_weights(text):
    """Default per-file weights updated by a JSON object (`--weights '{"reviews": 3}'`)."""
    from roots_zh.training.pretrain_data import DEFAULT_FILE_WEIGHTS

    if not text:
        return None
    try:
        update = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--weights must be a JSON object: {exc}")
    if not isinstance(update, dict):
        raise SystemExit("--weights must be a JSON object mapping corpus file names to weights")
    return {**DEFAULT_FILE_WEIGHTS, **update}


def cmd_prepare(ns) -> None:
    from roots_zh.training.pretrain_data import prepare_corpus

    meta = prepare_corpus(Path(ns.corpus), Path(ns.tokenizer), Path(ns.out), workers=ns.workers,
                          max_docs=ns.max_docs, seed=ns.seed, weights=_file_weights(ns.weights))
    print(json.dumps({k: v for k, v in meta.items() if k != "sources"}, indent=2))


def cmd_train(ns) -> None:
    from roots_zh.training.pretrain import run_pretraining

    out = Path(ns.out)
    if out.exists() and (out / "checkpoint").exists() and not ns.resume:
        raise SystemExit(f"{out}/checkpoint exists: pass --resume to continue it or choose another --out")
    model = json.loads(ns.model) if ns.model else None
    kwargs = {f.name: getattr(ns, f.name) for f in fields(PretrainArgs)
              if f.name != "model" and getattr(ns, f.name, None) is not None}
    args = PretrainArgs(data_dir=ns.data, output_dir=ns.out, **kwargs, **({"model": model} if model else {}))
    run_pretraining(args, Path(ns.tokenizer))


def copy_tokenizer(source: Path, target: Path) -> None:
    """Copy a tokenizer's files (SentencePiece or WordPiece) next to exported weights."""
    target.mkdir(parents=True, exist_ok=True)
    for p in source.iterdir():
        if p.name in ("spm.model", "spm.vocab", "vocab.txt", "tokenizer_config.json") \
                and p.resolve() != (target / p.name).resolve():
            shutil.copy(p, target / p.name)


def cmd_embed_init(ns) -> None:
    """A fresh model whose word embeddings come from PPMI-SVD over the prepared corpus (stage 1)."""
    import numpy as np
    import paddle

    from roots_zh.modeling import RootsConfig, RootsForMaskedLM
    from roots_zh.training.embedding_init import distributional_embeddings
    from roots_zh.training.pretrain_data import special_ids

    special = special_ids(Path(ns.tokenizer))
    fields_ = {**PretrainArgs(data_dir="", output_dir="").model, **(json.loads(ns.model) if ns.model else {})}
    paddle.seed(ns.seed)
    model = RootsForMaskedLM(RootsConfig(vocab_size=special.vocab_size, pad_token_id=special.pad, **fields_))
    ids = np.load(Path(ns.data) / "train_ids.npy", mmap_mode="r")
    if ns.max_tokens:
        ids = ids[:ns.max_tokens]
    table = model.roots.embeddings.word_embeddings.weight
    result = distributional_embeddings(np.asarray(ids), special.vocab_size, model.config.hidden_size,
                                       window=ns.window, min_count=ns.min_count,
                                       skip_ids=range(special.first_normal), std=model.config.initializer_range,
                                       seed=ns.seed, random_rows=table.numpy())
    table.set_value(paddle.to_tensor(result["weight"]))
    target = Path(ns.to)
    model.save_pretrained(target)
    copy_tokenizer(Path(ns.tokenizer), target)
    (target / "embed_init.json").write_text(json.dumps({"data": ns.data, **result["stats"]}, indent=2))
    print(json.dumps(result["stats"]))


def cmd_release(ns) -> None:
    """Checkpoint -> fp16 safetensors + tokenizer files in ``--to``, registered under ``--name``."""
    import paddle

    from roots_zh.hub.registry import register_model
    from roots_zh.modeling import RootsConfig, RootsForMaskedLM

    out, target = Path(ns.out), Path(ns.to)
    config = RootsConfig.from_pretrained(out)
    model = RootsForMaskedLM(config)
    model.set_state_dict(paddle.load(str(out / "checkpoint" / "model.pdparams")))
    copy_tokenizer(Path(ns.tokenizer), target)
    model.save_pretrained(target, dtype=ns.dtype)
    for extra in ("pretrain_curve.png",):
        if (out / extra).exists():
            shutil.copy(out / extra, target / extra)
    size = sum(p.stat().st_size for p in target.iterdir()) / 1e6
    if ns.no_register:
        print(f"exported {target} ({size:.1f} MB), not registered")
        return
    entry = register_model(ns.name, target, description=ns.description,
                           how_to_get="run `python tools/pretrain.py prepare/train/release` (see the model card)")
    print(f"exported {target} ({size:.1f} MB): {sorted(entry['files'])}")


def main(argv=None) -> None:
    log_to_stderr()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="tokenise a corpus sample with jieba word boundaries")
    p.add_argument("--corpus", default=str(ROOT.parent / "shared" / "data" / "corpus"))
    p.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER))
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-docs", dest="max_docs", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", help="JSON per-file weights over the defaults: <1 samples, >1 repeats "
                   "(train split only), e.g. '{\"reviews\": 3, \"law\": 0.15}'")
    p.set_defaults(func=cmd_prepare)

    m = sub.add_parser("embed-init", help="stage 1: a fresh model with PPMI-SVD word embeddings from the corpus")
    m.add_argument("--data", required=True, help="a `prepare` output directory")
    m.add_argument("--to", required=True)
    m.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER))
    m.add_argument("--model", help="JSON of RootsConfig fields (default: the pretraining architecture)")
    m.add_argument("--window", type=int, default=5)
    m.add_argument("--min-count", dest="min_count", type=int, default=5)
    m.add_argument("--max-tokens", dest="max_tokens", type=int)
    m.add_argument("--seed", type=int, default=42)
    m.set_defaults(func=cmd_embed_init)

    t = sub.add_parser("train", help="hybrid MLM + prefix-LM pretraining (resumable)")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER))
    t.add_argument("--resume", action="store_true")
    t.add_argument("--init-from", dest="init_from", help="continue from shipped weights (new optimizer)")
    t.add_argument("--model", help='JSON of RootsConfig fields, e.g. \'{"hidden_size": 256}\'')
    for name in ("seq_len", "batch_size", "max_steps", "warmup_steps", "save_every", "eval_every",
                 "eval_batches", "seed", "threads", "stop_at_step"):
        t.add_argument("--" + name.replace("_", "-"), dest=name, type=int)
    for name in ("learning_rate", "prefix_ratio", "weight_decay", "stop_after_seconds"):
        t.add_argument("--" + name.replace("_", "-"), dest=name, type=float)
    t.add_argument("--static", dest="static", action="store_true", default=None,
                   help="train the to_static graph (default: dygraph, faster with the MKL fast path and "
                        "GEMM bias gradients; see `python tools/benchmark.py train`)")
    t.add_argument("--no-static", dest="static", action="store_false", default=None,
                   help="train in dygraph (the default)")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("release", help="ship a checkpoint as fp16 safetensors + tokenizer (a model directory)")
    e.add_argument("--out", required=True, help="the training output dir")
    e.add_argument("--to", required=True, help="the model directory to write (e.g. pretrained/roots-base: overwrites it)")
    e.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER))
    e.add_argument("--name", default="roots-base")
    e.add_argument("--dtype", default="float16", choices=["float32", "float16", "int8"],
                   help="weight storage: float16 (default) or int8 weight-only (about half the size)")
    e.add_argument("--no-register", dest="no_register", action="store_true", help="a snapshot: skip the registry")
    e.add_argument("--description", default="ROOTS base encoder pretrained by this project")
    e.set_defaults(func=cmd_release)
    ns = parser.parse_args(argv)
    ns.func(ns)


if __name__ == "__main__":
    main()
