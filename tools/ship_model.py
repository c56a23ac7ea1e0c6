#!/usr/bin/env python
"""Ship a fine-tuned task model into the model zoo: copy, write its model card, register (sha256).

    python tools/ship_model.py --from work_dirs/ship/sentiment --name roots-sentiment --task chnsenticorp
    python tools/ship_model.py --retire roots-base-v0.1     # once no shipped adapter builds on it
    python tools/ship_model.py --share-tokenizers           # shipped models read roots-base's tokenizer files

``--from`` is a ``tools/finetune.py --out`` directory (its ``final/`` holds the model or adapter and
``result.json`` the measured figures). The whole ``pretrained/`` folder must stay under 80 MB.
A full model ships in fp16, or with ``--weight-dtype int8`` as int8 weight-only (about half the size;
see ``roots_zh/modeling/quantize.py``); the model card records which. Tokenizer files identical to
roots-base's are not copied: the model's ``tokenizer_config.json`` names ``../roots-base/<file>`` (one
244 KB SentencePiece model instead of ten), recorded with its sha256 in the registry.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MB = 80.0
SKIP = {"train_summary.json", "spm.vocab"}  # spm.vocab: a human-readable listing; roots-base ships it once
WEIGHT_DTYPES = {"fp16": "float16", "int8": "int8"}  # --weight-dtype -> save_weights(dtype=...)
SHARED_BASE = "roots-base"  # the shipped model whose tokenizer files the others read
KIND_OF = {"fp16": "full fp16 model",
           "int8": "full int8 weight-only model (per-row/column int8 + fp16 rest; dequantized to fp32 at load)"}


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _metric_lines(result: dict) -> list:
    lines = []
    for split in ("dev", "test"):
        value = result.get(split)
        if isinstance(value, dict):
            shown = {k: (round(100 * v, 2) if isinstance(v, float) and v <= 1 else v) for k, v in value.items()
                     if k not in ("step", "epoch", "history")}
            lines.append(f"| {split} | {json.dumps(shown, ensure_ascii=False)} |")
    for key, value in result.items():
        if key.startswith("test_") and isinstance(value, dict):
            lines.append(f"| {key} | {json.dumps(value, ensure_ascii=False)} |")
    return lines


def model_card(name: str, task: str, result: dict, files_mb: float, adapter: dict | None,
               weight_dtype: str = "fp16") -> str:
    recipe = result.get("recipe", {})
    kind = (f"adapter over `{adapter['base_model']}` (rank {adapter['rank']}; "
            f"{'all but the word embeddings trained' if adapter['rank'] == 0 else 'LoRA + heads/LayerNorms'})"
            if adapter else KIND_OF[weight_dtype])
    article = "an" if kind[0] in "aeiou" else "a"
    ship_flags = f" --weight-dtype {weight_dtype}" if weight_dtype != "fp16" else ""
    from roots_zh.hub import load_registry
    from roots_zh.recipes import recipe_path

    trained = result.get("task") or task  # the recipe the run used (e.g. segmentation_multi for --task segmentation)
    recipe_file = recipe_path(trained).relative_to(ROOT)
    start = result.get("model") or "roots-base"  # not a registered name: a continuation of an earlier run
    origin = start if start in load_registry() else (
        f"`{start}` (an earlier fine-tuned run, continued; the task README lists the whole chain)")
    return "\n".join([
        f"# {name}", "",
        f"Fine-tuned by `tools/finetune.py --task {trained}` from {origin} on the real data in `../shared/data/` "
        f"(recipe `{recipe_file.as_posix()}`, with the overrides below). Shipped as {article} {kind}, {files_mb:.1f} MB. "
        "Loaded by `Taskflow`, the pipelines' `from_pretrained` and `roots-zh`, with no download.", "",
        "## Measured (best dev checkpoint; figures from `result.json` of the run)", "",
        "| split | metrics |", "|---|---|", *_metric_lines(result), "",
        f"Training time: {result.get('train_seconds')} s on 2 CPU cores (often shared with other jobs).", "",
        "## Recipe", "", "```json", json.dumps(recipe, ensure_ascii=False, indent=2), "```", "",
        "Reproduce: `python tools/finetune.py --task "
        f"{trained} --model {start} --out work_dirs/ship/{name}` with the same `--set` overrides, then "
        f"`python tools/ship_model.py --from work_dirs/ship/{name} --name {name} --task {task}{ship_flags}`.", ""])


def share_tokenizer_files(directory: Path, base: Path) -> list:
    """Delete ``directory``'s tokenizer files that are byte-identical to ``base``'s and point its
    ``tokenizer_config.json`` at those (``../<base>/<file>``); returns every such reference."""
    from roots_zh.utils.files import atomic_write_text

    config_path = directory / "tokenizer_config.json"
    if directory.name == base.name or not config_path.is_file():
        return []
    config = json.loads(config_path.read_text(encoding="utf-8"))
    files = config.get("files") if isinstance(config.get("files"), dict) else {}
    for arg, name in files.items():
        mine, theirs = directory / name, base / Path(name).name
        if not name.startswith("../") and mine.is_file() and theirs.is_file() and mine.read_bytes() == theirs.read_bytes():
            mine.unlink()
            files[arg] = f"../{base.name}/{theirs.name}"
    atomic_write_text(config_path, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    return sorted(name for name in files.values() if name.startswith("../"))


def record(directory: Path, name: str, shared: list, description: str, how_to_get: str) -> None:
    """Write ``checksums.json`` and the registry entry of a shipped model folder."""
    from roots_zh.hub.registry import register_model, write_checksums

    write_checksums(directory, sorted(p.name for p in directory.iterdir()
                                      if p.is_file() and p.name not in ("README.md", "checksums.json")) + shared)
    register_model(name, directory, description=description, how_to_get=how_to_get, shared=shared)


WORD_EMBEDDINGS = "roots.embeddings.word_embeddings.weight"


def prune_unreachable_rows(directory: Path) -> int:
    """Store only the word-embedding rows that the model's tokenizer can produce (a character-level
    tokenizer never produces 10k of the 16k pieces; their rows load as zeros): int8 weights only.
    Returns the number of rows dropped (0: nothing to do)."""
    from safetensors import safe_open

    from roots_zh.hub.registry import read_checksums, write_checksums
    from roots_zh.modeling import quantize
    from roots_zh.modeling.checkpoint import prune_rows
    from roots_zh.tokenization.auto import AutoTokenizer

    weights = directory / "model.safetensors"
    if not weights.is_file():
        return 0
    with safe_open(str(weights), framework="numpy") as fh:
        names, metadata = set(fh.keys()), fh.metadata() or {}
    if (metadata.get(quantize.METADATA_KEY) != quantize.INT8 or WORD_EMBEDDINGS + quantize.ROWS_SUFFIX in names
            or WORD_EMBEDDINGS + quantize.SCALE_SUFFIX not in names):
        return 0
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory)
    except FileNotFoundError:  # no tokenizer beside the weights: every row stays
        return 0
    if not hasattr(tokenizer, "reachable_ids"):  # WordPiece vocabularies: every id is reachable
        return 0
    keep = tokenizer.reachable_ids()
    if keep.all():
        return 0
    prune_rows(weights, WORD_EMBEDDINGS, keep)
    recorded = read_checksums(directory)
    if weights.name in recorded:  # a saved model folder: its checksums follow the rewritten file
        write_checksums(directory, sorted(recorded))
    return int((~keep).sum())


def prune_all_shipped() -> None:
    from roots_zh.hub.registry import PRETRAINED_DIR, load_registry

    for name, entry in sorted(load_registry().items()):
        dropped = prune_unreachable_rows(PRETRAINED_DIR / name)
        if dropped:
            shared = sorted(f for f in entry.get("files", {}) if f.startswith("../"))  # as registered
            record(PRETRAINED_DIR / name, name, shared, entry.get("description", ""), entry.get("how_to_get", ""))
            print(f"{name}: {dropped} word-embedding rows its tokenizer never produces are no longer stored")
    print(f"pretrained/ now {folder_mb(PRETRAINED_DIR):.1f} MB")


def share_all_tokenizers() -> None:
    from roots_zh.hub.registry import PRETRAINED_DIR, load_registry

    for name, entry in sorted(load_registry().items()):
        shared = share_tokenizer_files(PRETRAINED_DIR / name, PRETRAINED_DIR / SHARED_BASE)
        if shared:
            record(PRETRAINED_DIR / name, name, shared, entry.get("description", ""), entry.get("how_to_get", ""))
            print(f"{name}: reads {', '.join(shared)}")
    print(f"pretrained/ now {folder_mb(PRETRAINED_DIR):.1f} MB")


def main(argv=None) -> int:
    from roots_zh.hub.registry import PRETRAINED_DIR
    from roots_zh.pipelines.lexical import LEXICAL_FILE  # a classifier's lexical leg: stored as it is

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--retire", metavar="NAME", help="remove shipped model NAME (folder and registry entry) "
                   "instead of shipping one; refused while a shipped adapter builds on it")
    p.add_argument("--share-tokenizers", action="store_true", help="make every shipped model read "
                   f"{SHARED_BASE}'s tokenizer files instead of holding copies")
    p.add_argument("--prune-rows", action="store_true", help="in every shipped int8 model with a "
                   "character-level tokenizer, stop storing the word-embedding rows it never produces")
    p.add_argument("--from", dest="source", help="a tools/finetune.py --out directory")
    p.add_argument("--name")
    p.add_argument("--task")
    p.add_argument("--description", default="")
    p.add_argument("--weight-dtype", choices=sorted(WEIGHT_DTYPES), default="fp16",
                   help="storage of a full model's weights: fp16 (default) or int8 weight-only (about half "
                        "the size; re-measure accuracy). Adapters always ship in fp16.")
    ns = p.parse_args(argv)
    if ns.retire:
        from roots_zh.hub.registry import retire_model

        retire_model(ns.retire)
        print(f"retired {ns.retire}; pretrained/ now {folder_mb(PRETRAINED_DIR):.1f} MB")
        return 0
    if ns.share_tokenizers:
        share_all_tokenizers()
        return 0
    if ns.prune_rows:
        prune_all_shipped()
        return 0
    if not (ns.source and ns.name and ns.task):
        p.error("--from, --name and --task are required to ship a model")
    source = Path(ns.source)
    model_dir = source / "final" if (source / "final").is_dir() else source
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"{model_dir} holds no config.json: not a saved model")
    if ns.weight_dtype == "int8" and (model_dir / "adapter_config.json").is_file():
        raise SystemExit(f"{model_dir} is an adapter: --weight-dtype int8 is for full models (adapters ship in fp16)")
    result = json.loads((source / "result.json").read_text(encoding="utf-8")) if (source / "result.json").is_file() else {}
    final_target = PRETRAINED_DIR / ns.name
    # build beside the shipped folder; the old model is only replaced once the new one fits the budget
    target = PRETRAINED_DIR / f".{ns.name}.shipping"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in model_dir.iterdir():
        if path.is_file() and path.name not in SKIP | {"checksums.json"}:
            if path.suffix == ".safetensors" and path.name != LEXICAL_FILE:  # fp16 or int8 (re-measure accuracy)
                from roots_zh.modeling.checkpoint import load_weights, save_weights

                save_weights(load_weights(path), target / path.name, dtype=WEIGHT_DTYPES[ns.weight_dtype])
            else:
                shutil.copy(path, target / path.name)
    # the base itself keeps its files (built in .roots-base.shipping, its old folder goes on the rename)
    shared = [] if ns.name == SHARED_BASE else share_tokenizer_files(target, PRETRAINED_DIR / SHARED_BASE)
    prune_unreachable_rows(target)  # int8 + character-level tokenizer: only the rows it can produce
    adapter = None
    if (target / "adapter_config.json").is_file():
        adapter = json.loads((target / "adapter_config.json").read_text(encoding="utf-8"))
    if result:
        (target / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    files_mb = folder_mb(target)
    (target / "README.md").write_text(model_card(ns.name, ns.task, result, files_mb, adapter, ns.weight_dtype), encoding="utf-8")
    total = folder_mb(PRETRAINED_DIR) - (folder_mb(final_target) if final_target.exists() else 0.0)
    if total > BUDGET_MB:
        shutil.rmtree(target)
        raise SystemExit(f"pretrained/ would hold {total:.1f} MB > {BUDGET_MB} MB: use an adapter "
                         f"(fit(adapter=...)) or --weight-dtype int8; {final_target} is unchanged")
    if final_target.exists():
        shutil.rmtree(final_target)
    target.rename(final_target)
    target = final_target
    record(target, ns.name, shared, ns.description or f"{ns.task} model fine-tuned from roots-base",
           f"run `python tools/finetune.py --task {ns.task} ...` then `tools/ship_model.py`")
    print(f"shipped {ns.name} ({'adapter' if adapter else ns.weight_dtype}): {files_mb:.1f} MB; "
          f"pretrained/ now {total:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
