"""`FillMask`: top-k predictions for every ``[MASK]`` with the roots-base masked-LM head."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Union

import numpy as np

from ..utils.numeric import softmax
from ..utils.validation import check_positive_int, check_texts
from .base import Pipeline

MASK = "[MASK]"


class FillMask(Pipeline):
    """>>> FillMask.from_pretrained("roots-base").predict("中国的首都是北[MASK]。")
    {'text': ..., 'predictions': [[{'token': '京', 'score': ...}, ...]]}"""

    OUTPUT_FIELDS = ("logits",)

    def __init__(self, model, tokenizer, top_k: int = 5, backend=None, config=None,
                 base_model: Optional[str] = None) -> None:
        """``backend``: an object with ``run(feeds) -> [logits]`` (an inference ``Predictor``, with its
        ``config``); ``None`` runs ``model`` in dygraph. ``base_model``: the registered name or directory
        it was loaded from (``from_pretrained`` sets it)."""
        super().__init__(model, tokenizer, config, backend, base_model)
        self.top_k = check_positive_int(top_k, "top_k")

    @classmethod
    def from_pretrained(cls, name_or_dir: Union[str, os.PathLike] = "roots-base", top_k: int = 5,
                        backend: str = "dygraph", **inference_options) -> "FillMask":
        """A registered name or directory; ``backend="inference"`` runs a directory written by ``export``."""
        from ..modeling import RootsForMaskedLM

        directory, tokenizer, predictor, config = cls.open_pipeline(name_or_dir, backend, inference_options)
        if predictor is not None:
            return cls(None, tokenizer, top_k, backend=predictor, config=config)
        return cls(RootsForMaskedLM.from_pretrained(directory), tokenizer, top_k, base_model=str(name_or_dir))

    def _ids(self, text: str) -> List[int]:
        tok = self.tokenizer
        ids = [tok.cls_token_id]
        pieces = text.split(MASK)
        for i, piece in enumerate(pieces):
            if piece:
                ids += tok.encode(piece, add_special_tokens=False)
            if i < len(pieces) - 1:
                ids.append(tok.mask_token_id)
        limit = self.config.max_position_embeddings - 1
        return ids[:limit] + [tok.sep_token_id]

    def predict(self, texts: Union[str, Sequence[str]], top_k: int | None = None, batch_size: int = 32):
        """A dict for a str, a list for a list; texts without ``[MASK]`` get no predictions."""
        items, single = check_texts(texts, "texts")
        top_k = check_positive_int(top_k, "top_k") if top_k is not None else self.top_k
        check_positive_int(batch_size, "batch_size")
        special = self.tokenizer.all_special_ids
        results = []
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            rows = [self._ids(t) for t in chunk]
            width = max(len(r) for r in rows)
            ids = np.full((len(rows), width), self.tokenizer.pad_token_id, dtype="int64")
            mask = np.zeros_like(ids)
            for i, r in enumerate(rows):
                ids[i, :len(r)], mask[i, :len(r)] = r, 1
            logits = self.backend.run({"input_ids": ids, "token_type_ids": np.zeros_like(ids),
                                       "attention_mask": mask})[0]
            for text, row_ids, row_logits in zip(chunk, rows, logits):
                preds = []
                for pos in (i for i, t in enumerate(row_ids) if t == self.tokenizer.mask_token_id):
                    row = row_logits[pos].astype(np.float32)
                    row[special] = -np.inf
                    probs = softmax(row)
                    best = np.argsort(-probs)[:top_k]
                    preds.append([{"token": self.tokenizer.decode([int(b)]), "score": round(float(probs[b]), 4)}
                                  for b in best])
                results.append({"text": text, "predictions": preds})
        return results[0] if single else results
