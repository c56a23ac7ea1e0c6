"""TransE (Bordes et al., 2013) in Paddle: ``score(h, r, t) = ||e_h + w_r - e_t||_p``, margin ranking
loss against corrupted heads/tails, entity vectors renormalised to unit L2 norm after each step;
plus a deterministic train/test split and filtered link-prediction evaluation (MRR, Hits@k) in numpy.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..metrics.ranking import ranking_metrics  # noqa: F401 - re-exported (its home is roots_zh.metrics)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------- split
def split_triples(triples: np.ndarray, test_size: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, Dict]:
    """Hold out about ``test_size`` triples (seeded permutation). Test triples whose head, tail or
    relation would not occur in the training part are moved back to training, so every test
    entity has a trained vector. Returns ``(train, test, record)``; ``record`` says what was done."""
    triples = np.asarray(triples, dtype=np.int64)
    if triples.ndim != 2 or triples.shape[1] != 3:
        raise ValueError(f"`triples` must be [N, 3] ids, got shape {triples.shape}")
    if not isinstance(test_size, (int, np.integer)) or not 0 < test_size < len(triples):
        raise ValueError(f"`test_size` must be an int in (0, {len(triples)}), got {test_size!r}")
    order = np.random.default_rng(seed).permutation(len(triples))
    test_idx, train_idx = order[:test_size], order[test_size:]
    train = triples[train_idx]
    ent_seen = np.zeros(int(triples[:, [0, 2]].max()) + 1, dtype=bool)
    ent_seen[train[:, 0]] = ent_seen[train[:, 2]] = True
    rel_seen = np.zeros(int(triples[:, 1].max()) + 1, dtype=bool)
    rel_seen[train[:, 1]] = True
    cand = triples[test_idx]
    ok = ent_seen[cand[:, 0]] & ent_seen[cand[:, 2]] & rel_seen[cand[:, 1]]
    train_idx = np.sort(np.concatenate([train_idx, test_idx[~ok]]))
    test_idx = np.sort(test_idx[ok])
    record = {"seed": int(seed), "test_requested": int(test_size), "moved_to_train_unseen": int((~ok).sum()),
              "train": int(len(train_idx)), "test": int(len(test_idx)),
              "rule": "seeded permutation; test triples with an entity/relation unseen in train moved to train"}
    return triples[train_idx], triples[test_idx], record


# ---------------------------------------------------------------------------------------- model
@dataclass
class TransEArgs:
    dim: int = 100
    norm: int = 1  # 1 = L1, 2 = L2 distance
    margin: float = 4.0
    negatives: int = 8  # corrupted triples per positive
    batch_size: int = 2048
    learning_rate: float = 0.01
    epochs: int = 50
    max_seconds: Optional[float] = None  # stop after this many seconds of training
    seed: int = 0

    def validate(self) -> None:
        if self.norm not in (1, 2):
            raise ValueError(f"`norm` must be 1 or 2, got {self.norm!r}")
        for name in ("dim", "negatives", "batch_size", "epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}")
        if self.margin <= 0 or self.learning_rate <= 0:
            raise ValueError("`margin` and `learning_rate` must be positive")


def _transe_layer(num_entities: int, num_relations: int, dim: int, norm: int):
    import paddle
    import paddle.nn as nn

    class TransE(nn.Layer):
        def __init__(self) -> None:
            super().__init__()
            bound = 6.0 / np.sqrt(dim)
            init = nn.initializer.Uniform(-bound, bound)
            self.entity = nn.Embedding(num_entities, dim, weight_attr=paddle.ParamAttr(initializer=init))
            self.relation = nn.Embedding(num_relations, dim, weight_attr=paddle.ParamAttr(initializer=init))
            with paddle.no_grad():
                w = self.relation.weight
                w.set_value(w / paddle.linalg.norm(w, axis=1, keepdim=True))
            self.normalize_entities()

        @paddle.no_grad()
        def normalize_entities(self) -> None:
            w = self.entity.weight
            w.set_value(w / paddle.clip(paddle.linalg.norm(w, axis=1, keepdim=True), min=1e-12))

        def distance(self, h, r, t):
            diff = self.entity(h) + self.relation(r) - self.entity(t)
            return diff.abs().sum(-1) if norm == 1 else paddle.sqrt((diff * diff).sum(-1) + 1e-12)

    return TransE()


class TransE:
    """Train TransE vectors for a graph given as an int ``[N, 3]`` (head, relation, tail) array."""

    def __init__(self, num_entities: int, num_relations: int, args: Optional[TransEArgs] = None) -> None:
        self.args = args or TransEArgs()
        self.args.validate()
        if num_entities < 2 or num_relations < 1:
            raise ValueError(f"need >= 2 entities and >= 1 relation, got {num_entities}, {num_relations}")
        import paddle

        paddle.seed(self.args.seed)
        self.num_entities, self.num_relations = int(num_entities), int(num_relations)
        self.layer = _transe_layer(self.num_entities, self.num_relations, self.args.dim, self.args.norm)
        self.history: List[Dict[str, float]] = []

    def _corrupt(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        neg = np.repeat(batch, self.args.negatives, axis=0)
        replace_head = rng.random(len(neg)) < 0.5
        random_ent = rng.integers(0, self.num_entities, len(neg))
        neg[replace_head, 0] = random_ent[replace_head]
        neg[~replace_head, 2] = random_ent[~replace_head]
        return neg

    def loss(self, pos: np.ndarray, neg: np.ndarray):
        """Mean ``relu(margin + d(pos) - d(neg))``; ``neg`` holds ``negatives`` rows per positive."""
        import paddle
        import paddle.nn.functional as F

        p = paddle.to_tensor(pos)
        n = paddle.to_tensor(neg)
        d_pos = self.layer.distance(p[:, 0], p[:, 1], p[:, 2])
        d_neg = self.layer.distance(n[:, 0], n[:, 1], n[:, 2]).reshape([len(pos), self.args.negatives])
        return F.relu(self.args.margin + d_pos.unsqueeze(1) - d_neg).mean()

    def fit(self, train: np.ndarray) -> List[Dict[str, float]]:
        """Adam on mini-batches; returns per-epoch ``{"epoch", "loss", "seconds"}``."""
        import paddle

        train = np.asarray(train, dtype=np.int64)
        if train.ndim != 2 or train.shape[1] != 3 or len(train) == 0:
            raise ValueError(f"`train` must be a non-empty [N, 3] id array, got shape {train.shape}")
        if train[:, [0, 2]].max() >= self.num_entities or train[:, 1].max() >= self.num_relations:
            raise ValueError("`train` holds ids outside num_entities/num_relations")
        rng = np.random.default_rng(self.args.seed)
        opt = paddle.optimizer.Adam(learning_rate=self.args.learning_rate, parameters=self.layer.parameters())
        start = time.time()
        for epoch in range(self.args.epochs):
            order = rng.permutation(len(train))
            total, batches = 0.0, 0
            for i in range(0, len(order), self.args.batch_size):
                pos = train[order[i:i + self.args.batch_size]]
                loss = self.loss(pos, self._corrupt(pos, rng))
                loss.backward()
                opt.step()
                opt.clear_grad()
                self.layer.normalize_entities()
                total += float(loss)
                batches += 1
            record = {"epoch": epoch + 1, "loss": total / batches, "seconds": round(time.time() - start, 1)}
            self.history.append(record)
            logger.debug("TransE %s", record)
            if self.args.max_seconds is not None and time.time() - start > self.args.max_seconds:
                break
        return self.history

    @property
    def entity_vectors(self) -> np.ndarray:
        return self.layer.entity.weight.numpy()

    @property
    def relation_vectors(self) -> np.ndarray:
        return self.layer.relation.weight.numpy()

    def config(self) -> Dict:
        return asdict(self.args)


# ---------------------------------------------------------------------------------------- evaluation
def _distances(query: np.ndarray, candidates: np.ndarray, norm: int) -> np.ndarray:
    """``[B, N]`` distances between ``query [B, d]`` and every row of ``candidates [N, d]``."""
    if norm == 2:
        sq = (query ** 2).sum(1, keepdims=True) + (candidates ** 2).sum(1)[None] - 2.0 * query @ candidates.T
        return np.sqrt(np.maximum(sq, 0.0))
    return np.stack([np.abs(q[None] - candidates).sum(1) for q in query])


def filtered_ranks(entity_vectors: np.ndarray, relation_vectors: np.ndarray, test: np.ndarray,
                   known: np.ndarray, norm: int = 1, chunk: int = 64) -> np.ndarray:
    """Filtered ranks of the true tail (column 0) and true head (column 1) of each test triple.

    Every other entity forming a ``known`` triple (train + test, any split) with the same query is
    removed before ranking; ties count against the true answer (pessimistic rank)."""
    ent = np.asarray(entity_vectors, dtype=np.float32)
    rel = np.asarray(relation_vectors, dtype=np.float32)
    test = np.asarray(test, dtype=np.int64).reshape(-1, 3)
    if norm not in (1, 2):
        raise ValueError(f"`norm` must be 1 or 2, got {norm!r}")
    tails: Dict[Tuple[int, int], List[int]] = {}
    heads: Dict[Tuple[int, int], List[int]] = {}
    for h, r, t in np.asarray(known, dtype=np.int64).reshape(-1, 3).tolist():
        tails.setdefault((h, r), []).append(t)
        heads.setdefault((t, r), []).append(h)
    ranks = np.zeros((len(test), 2), dtype=np.int64)
    for side in (0, 1):  # 0: predict tail from (h, r); 1: predict head from (r, t)
        for start in range(0, len(test), chunk):
            part = test[start:start + chunk]
            if side == 0:
                dist = _distances(ent[part[:, 0]] + rel[part[:, 1]], ent, norm)
                target, keys, table = part[:, 2], zip(part[:, 0].tolist(), part[:, 1].tolist()), tails
            else:  # e_h = e_t - w_r
                dist = _distances(ent[part[:, 2]] - rel[part[:, 1]], ent, norm)
                target, keys, table = part[:, 0], zip(part[:, 2].tolist(), part[:, 1].tolist()), heads
            for row, (key, true) in enumerate(zip(keys, target.tolist())):
                d = dist[row]
                true_d = d[true]
                others = [e for e in table.get(key, []) if e != true]
                if others:
                    d = d.copy()
                    d[others] = np.inf
                ranks[start + row, side] = int((d <= true_d).sum())  # includes the true entity itself
    return ranks
