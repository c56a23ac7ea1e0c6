"""`Trainer`: fine-tuning with AdamW, warm-up + linear decay, gradient clipping, periodic evaluation,
early stopping, best-checkpoint keeping, seeds and a progress bar.

Features are lists of dicts of int lists (from a tokenizer); batches are padded per batch after
length bucketing, so little padding is computed.
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import paddle

from ..data.collate import Feature, bucketed_batches, pad_batch  # noqa: F401 - pad_batch re-exported

from ..utils.env import set_cpu_threads
from ..utils.files import atomic_write_text

logger = logging.getLogger(__name__)


@dataclass
class TrainingArgs:
    output_dir: Optional[str] = None
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_every: Optional[int] = None  # steps; None = once per epoch
    early_stopping_patience: Optional[int] = None  # evaluations without improvement
    metric: str = "accuracy"  # higher is better
    seed: int = 42
    max_steps: Optional[int] = None
    threads: Optional[int] = None

    def validate(self) -> None:
        if self.batch_size <= 0:
            raise ValueError(f"`batch_size` must be positive, got {self.batch_size}")
        if self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive, got {self.learning_rate}")
        if self.epochs <= 0 and not self.max_steps:
            raise ValueError("`epochs` must be positive (or set `max_steps`)")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


class Trainer:
    """Train ``model`` (whose forward takes the batch fields and returns ``.loss``) on ``features``.

    ``evaluate_fn(model) -> {metric: value}`` runs every ``eval_every`` steps; the best weights
    (by ``args.metric``) are kept in memory and, with ``output_dir``, saved to ``<output_dir>/best``.
    """

    def __init__(self, model, args: TrainingArgs, train_features: List[Feature],
                 evaluate_fn: Optional[Callable[[object], Dict[str, float]]] = None,
                 pad_ids: Optional[Dict[str, int]] = None) -> None:
        args.validate()
        if not train_features:
            raise ValueError("`train_features` is empty: nothing to train on")
        self.model, self.args = model, args
        self.features = train_features
        self.evaluate_fn = evaluate_fn
        self.pad_ids = pad_ids or {}
        self.history: List[dict] = []
        self.best: Optional[dict] = None
        self._best_state = None

    def _optimizer(self, total_steps: int):
        warmup = int(total_steps * self.args.warmup_ratio)
        schedule = paddle.optimizer.lr.LambdaDecay(
            self.args.learning_rate,
            lambda s: (s + 1) / max(1, warmup) if s < warmup
            else max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
        trainable = [p for p in self.model.parameters() if not p.stop_gradient]  # LoRA freezes the rest
        if not trainable:
            raise ValueError("the model has no trainable parameters (all are frozen)")
        decay = {p.name for n, p in self.model.named_parameters() if not ("bias" in n or "norm" in n)}
        opt = paddle.optimizer.AdamW(
            learning_rate=schedule, parameters=trainable, weight_decay=self.args.weight_decay,
            apply_decay_param_fun=lambda name: name in decay,
            grad_clip=paddle.nn.ClipGradByGlobalNorm(self.args.max_grad_norm))
        return opt, schedule

    def _evaluate(self, step: int, epoch: float) -> bool:
        """Run evaluation; return True when early stopping should end training."""
        if self.evaluate_fn is None:
            return False
        self.model.eval()
        with paddle.no_grad():
            metrics = self.evaluate_fn(self.model)
        self.model.train()
        record = {"step": step, "epoch": round(epoch, 3), **metrics}
        self.history.append(record)
        logger.info("eval %s", record)
        if self.args.metric not in metrics:
            raise ValueError(f"evaluate_fn returned {sorted(metrics)}, not the metric {self.args.metric!r}")
        if self.best is None or metrics[self.args.metric] > self.best[self.args.metric]:
            self.best = record
            self._best_state = {k: v.numpy().copy() for k, v in self.model.state_dict().items()}
            if self.args.output_dir:
                self.model.save_pretrained(Path(self.args.output_dir) / "best")
            return False
        patience = self.args.early_stopping_patience
        evals_since_best = sum(1 for r in self.history if r["step"] > self.best["step"])
        return patience is not None and evals_since_best >= patience

    def train(self) -> dict:
        from tqdm import tqdm

        args = self.args
        seed_everything(args.seed)
        set_cpu_threads(args.threads)
        rng = random.Random(args.seed)
        steps_per_epoch = math.ceil(len(self.features) / args.batch_size)
        total = args.max_steps or max(1, int(steps_per_epoch * args.epochs))
        eval_every = args.eval_every or steps_per_epoch
        opt, schedule = self._optimizer(total)
        self.model.train()
        step, start, stop = 0, time.time(), False
        bar = tqdm(total=total, desc="fine-tune", mininterval=5)
        while step < total and not stop:
            for idx in bucketed_batches(self.features, args.batch_size, rng):
                batch = pad_batch([self.features[i] for i in idx], self.pad_ids)
                loss = self.model(**{k: paddle.to_tensor(v) for k, v in batch.items()}).loss
                loss.backward()
                opt.step()
                opt.clear_grad()
                schedule.step()
                step += 1
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{float(loss):.4f}")
                if step % eval_every == 0 or step == total:
                    stop = self._evaluate(step, step / steps_per_epoch)
                if step >= total or stop:
                    break
        bar.close()
        if self._best_state is not None:  # end on the best weights
            self.model.set_state_dict(self._best_state)
        summary = {"steps": step, "train_seconds": round(time.time() - start, 1), "best": self.best,
                   "history": self.history, "args": asdict(args)}
        if args.output_dir:
            atomic_write_text(Path(args.output_dir) / "train_summary.json", json.dumps(summary, indent=2))
        return summary
