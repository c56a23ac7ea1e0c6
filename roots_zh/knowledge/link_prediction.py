"""One link-prediction experiment: load a shared graph, split it, train TransE, evaluate (filtered),
and save the vectors with their vocabularies."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from ..utils.files import atomic_save, atomic_write_text
from .graph import KnowledgeGraph, ReadReport
from .transe import TransE, TransEArgs, filtered_ranks, ranking_metrics, split_triples

GRAPHS = {"dbp15k_zh": "kg/dbp15k_zh_en", "medical": "kg/medical_kg_xywy/triples.tsv.gz"}


def load_graph(name: str, data_dir: Union[str, os.PathLike]) -> Tuple[KnowledgeGraph, ReadReport]:
    """``"dbp15k_zh"`` (DBP15K Chinese side), ``"medical"`` (medical_kg_xywy) or a TSV path."""
    if name in GRAPHS:
        path = Path(data_dir) / GRAPHS[name]
        return KnowledgeGraph.from_dbp15k(path, side=1) if name == "dbp15k_zh" else KnowledgeGraph.from_tsv(path)
    if Path(name).is_file():
        return KnowledgeGraph.from_tsv(name)
    raise ValueError(f"`graph`={name!r} is neither one of {sorted(GRAPHS)} nor an existing TSV file")


def train_and_evaluate(kg: KnowledgeGraph, args: TransEArgs, test_size: int = 3000,
                       eval_sample: Optional[int] = 2000, split_seed: int = 0,
                       ) -> Tuple[TransE, Dict, np.ndarray, np.ndarray]:
    """Split (seeded), train, and rank a seeded sample of ``eval_sample`` test triples (all when
    ``None``) against all entities, both directions, filtered by every known triple."""
    train, test, split = split_triples(kg.triples, test_size, seed=split_seed)
    model = TransE(kg.num_entities, kg.num_relations, args)
    start = time.time()
    history = model.fit(train)
    train_s = time.time() - start
    evaluated = test
    if eval_sample is not None and eval_sample < len(test):
        pick = np.sort(np.random.default_rng(split_seed + 1).choice(len(test), eval_sample, replace=False))
        evaluated = test[pick]
    start = time.time()
    ranks = filtered_ranks(model.entity_vectors, model.relation_vectors, evaluated, kg.triples, norm=args.norm)
    metrics = ranking_metrics(ranks)
    result = {"entities": kg.num_entities, "relations": kg.num_relations, "triples": len(kg),
              "split": split, "evaluated_test_triples": int(len(evaluated)),
              "ranking": "filtered, both head and tail, pessimistic ties, against all entities",
              "transe": model.config(), "epochs_run": len(history), "final_loss": history[-1]["loss"],
              "train_seconds": round(train_s, 1), "eval_seconds": round(time.time() - start, 1), **metrics}
    return model, result, train, test


def save_embeddings(directory: Union[str, os.PathLike], kg: KnowledgeGraph, model: TransE,
                    extra: Optional[Dict] = None) -> Path:
    """``entity_vectors.npy``, ``relation_vectors.npy``, ``entities.txt``, ``relations.txt``
    (one name per line, row order) and ``transe.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in (("entity_vectors.npy", model.entity_vectors), ("relation_vectors.npy", model.relation_vectors)):
        atomic_save(directory / name, lambda tmp, a=array: np.save(open(tmp, "wb"), a))
    atomic_write_text(directory / "entities.txt", "".join(n.replace("\n", " ") + "\n" for n in kg.entities.names))
    atomic_write_text(directory / "relations.txt", "".join(n.replace("\n", " ") + "\n" for n in kg.relations.names))
    atomic_write_text(directory / "transe.json", json.dumps({**model.config(), **(extra or {})},
                                                             ensure_ascii=False, indent=2) + "\n")
    return directory


def load_embeddings(directory: Union[str, os.PathLike]) -> Tuple[list, np.ndarray]:
    """``(entity names, entity vectors)`` written by :func:`save_embeddings`."""
    directory = Path(directory)
    names = (directory / "entities.txt").read_text(encoding="utf-8").split("\n")[:-1]
    vectors = np.load(directory / "entity_vectors.npy")
    if len(names) != len(vectors):
        raise ValueError(f"{directory}: {len(names)} names but {len(vectors)} vectors")
    return names, vectors
