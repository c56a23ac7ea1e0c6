"""Knowledge fusion: each token attends over the embeddings of the graph entities linked to it,
and a learned sigmoid gate (initialised mostly closed) decides how much of that knowledge is added
to its hidden state. Tokens without linked entities are left exactly unchanged.

Configured by ``RootsConfig.knowledge_fusion`` (saved in ``config.json``)::

    {"num_entities": 30000,   # rows of the entity table, id 0 = "no entity" (padding)
     "entity_dim": 100,       # width of the entity vectors (e.g. TransE); projected to hidden_size
     "gate_bias": -2.0}       # initial gate bias: sigmoid(-2) = 0.12 of the knowledge at start
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

FUSION_DEFAULTS = {"entity_dim": None, "gate_bias": -2.0}


def fusion_options(config) -> Dict[str, Any]:
    """Validated ``config.knowledge_fusion`` with defaults filled in (``entity_dim`` = hidden size)."""
    opts = config.knowledge_fusion
    if not isinstance(opts, dict):
        raise ValueError(f"RootsConfig.knowledge_fusion must be a dict or None, got {type(opts).__name__}")
    unknown = set(opts) - {"num_entities", *FUSION_DEFAULTS}
    if unknown:
        raise ValueError(f"RootsConfig.knowledge_fusion has unknown keys {sorted(unknown)}; "
                         f"valid: num_entities, entity_dim, gate_bias")
    out = {**FUSION_DEFAULTS, **opts}
    if out["entity_dim"] is None:
        out["entity_dim"] = config.hidden_size
    for key in ("num_entities", "entity_dim"):
        value = out.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"RootsConfig.knowledge_fusion[{key!r}] must be a positive int, got {value!r}")
    if out["num_entities"] < 2:
        raise ValueError("RootsConfig.knowledge_fusion['num_entities'] must be >= 2 (id 0 is padding)")
    if isinstance(out["gate_bias"], bool) or not isinstance(out["gate_bias"], (int, float)):
        raise ValueError(f"RootsConfig.knowledge_fusion['gate_bias'] must be a number, got {out['gate_bias']!r}")
    return out


class RootsKnowledgeFusion(nn.Layer):
    """``hidden [B, S, H]`` + ``entity_ids [B, S, K]`` (int, 0 = none) → fused ``[B, S, H]``."""

    def __init__(self, config) -> None:
        super().__init__()
        opts = fusion_options(config)
        hidden = config.hidden_size
        self.num_entities = opts["num_entities"]
        self.entity_embeddings = nn.Embedding(opts["num_entities"], opts["entity_dim"])
        self.entity_proj = nn.Linear(opts["entity_dim"], hidden)
        self.query = nn.Linear(hidden, hidden)
        self.gate = nn.Linear(2 * hidden, hidden)
        self.gate.roots_bias_init = float(opts["gate_bias"])  # read by RootsPreTrainedModel._init_weights
        self.scale = hidden ** -0.5

    @paddle.no_grad()
    def load_entity_vectors(self, vectors: np.ndarray, first_id: int = 1) -> None:
        """Copy pre-trained vectors (e.g. TransE, ``[n, entity_dim]``) into rows ``first_id …``;
        row 0 (padding) is zeroed. The projection to ``hidden_size`` stays learned."""
        vectors = np.asarray(vectors, dtype=np.float32)
        table = self.entity_embeddings.weight
        rows, dim = table.shape
        if vectors.ndim != 2 or vectors.shape[1] != dim:
            raise ValueError(f"`vectors` must be [n, {dim}], got shape {vectors.shape}")
        if first_id < 1 or first_id + len(vectors) > rows:
            raise ValueError(f"{len(vectors)} vectors from id {first_id} do not fit num_entities={rows}")
        value = table.numpy()
        value[0] = 0.0
        value[first_id:first_id + len(vectors)] = vectors
        table.set_value(value)

    def forward(self, hidden, entity_ids):
        valid = (entity_ids > 0).astype(hidden.dtype)                      # (B, S, K)
        ent = self.entity_proj(self.entity_embeddings(entity_ids))         # (B, S, K, H)
        query = self.query(hidden).unsqueeze(2)                            # (B, S, 1, H)
        scores = (query * ent).sum(-1) * self.scale + (1.0 - valid) * -1e4  # (B, S, K)
        attn = F.softmax(scores, axis=-1) * valid                          # all-padding rows → 0
        knowledge = (attn.unsqueeze(-1) * ent).sum(2)                      # (B, S, H)
        has_entity = valid.max(axis=-1, keepdim=True)                      # (B, S, 1)
        gate = F.sigmoid(self.gate(paddle.concat([hidden, knowledge], axis=-1)))
        return hidden + has_entity * gate * knowledge                      # + exact 0 without entities
