"""The ROOTS pretraining loop: hybrid whole-word MLM + prefix LM, resumable, data parallel.

Run through ``tools/pretrain.py``; under ``python -m paddle.distributed.launch --nproc_per_node N``
each process takes its slice of every global batch and gradients are averaged with all-reduce.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import paddle

from ..modeling import RootsConfig, RootsForMaskedLM
from ..utils.env import available_cores, set_cpu_threads
from .checkpointing import load_checkpoint, save_checkpoint
from .flops import encoder_flops_per_token, head_flops, measure_matmul_peak
from .pretrain_data import PackedCorpus, SpecialIds, build_batch, special_ids

logger = logging.getLogger(__name__)


@dataclass
class PretrainArgs:
    data_dir: str
    output_dir: str
    model: Dict = field(default_factory=lambda: dict(hidden_size=256, num_hidden_layers=4,
                                                     num_attention_heads=4, intermediate_size=1024,
                                                     max_position_embeddings=512))
    seq_len: int = 128
    batch_size: int = 32  # per process
    max_steps: int = 4000
    learning_rate: float = 7e-4
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.01
    prefix_ratio: float = 0.3
    seed: int = 42
    save_every: int = 100
    eval_every: int = 250
    eval_batches: int = 8
    static: bool = False  # dygraph: 3,936 vs 3,301 tokens/s for to_static (`benchmark.py train`)
    threads: Optional[int] = None
    stop_after_seconds: Optional[float] = None  # checkpoint and exit (resume later)
    stop_at_step: Optional[int] = None  # likewise, at a step (the schedule still spans max_steps)
    init_from: Optional[str] = None  # start from shipped weights (e.g. pretrained/roots-base)


def lr_lambda(args: PretrainArgs):
    def factor(step: int) -> float:
        if step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        progress = min(1.0, (step - args.warmup_steps) / max(1, args.max_steps - args.warmup_steps))
        return args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def build_optimizer(model, args: PretrainArgs):
    schedule = paddle.optimizer.lr.LambdaDecay(args.learning_rate, lr_lambda(args))
    decay = {p.name for n, p in model.named_parameters() if not ("bias" in n or "norm" in n)}
    opt = paddle.optimizer.AdamW(learning_rate=schedule, parameters=model.parameters(),
                                 weight_decay=args.weight_decay, beta2=0.98,
                                 apply_decay_param_fun=lambda name: name in decay,
                                 grad_clip=paddle.nn.ClipGradByGlobalNorm(1.0))
    return opt, schedule


class HybridObjective:
    """Loss and accuracy of one MLM or prefix-LM batch; traced once per kind with ``to_static``."""

    def __init__(self, model: RootsForMaskedLM, static: bool) -> None:
        self.model = model

        def mlm(input_ids, masked_positions, labels):
            out = model(input_ids, masked_positions=masked_positions, labels=labels)
            return out.loss, (out.logits.argmax(-1) == labels).astype("float32").mean()

        def prefix(input_ids, token_type_ids, prefix_mask, masked_positions, labels):
            out = model(input_ids, token_type_ids, masked_positions=masked_positions, labels=labels,
                        mode="prefix", prefix_mask=prefix_mask)
            return out.loss, (out.logits.argmax(-1) == labels).astype("float32").mean()

        self.eager = {"mlm": mlm, "prefix": prefix}
        self.train_fns = ({k: paddle.jit.to_static(f, full_graph=True) for k, f in self.eager.items()}
                          if static else self.eager)

    @staticmethod
    def feeds(kind: str, arrays: Dict[str, np.ndarray]):
        names = (("input_ids", "masked_positions", "labels") if kind == "mlm" else
                 ("input_ids", "token_type_ids", "prefix_mask", "masked_positions", "labels"))
        return [paddle.to_tensor(arrays[n]) for n in names]

    def __call__(self, kind: str, arrays, train: bool = True):
        fns = self.train_fns if train else self.eager
        return fns[kind](*self.feeds(kind, arrays))


def all_reduce_gradients(model, world: int) -> None:
    if world == 1:
        return
    with paddle.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                paddle.distributed.all_reduce(p.grad)  # in place: sum over replicas
                p.grad.scale_(1.0 / world)


class JsonlLog:
    def __init__(self, path: Path, enabled: bool) -> None:
        self.path, self.enabled = path, enabled

    def write(self, record: dict) -> None:
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def evaluate(objective: HybridObjective, corpus: PackedCorpus, special: SpecialIds, args: PretrainArgs,
             ) -> Dict[str, float]:
    """Held-out whole-word MLM accuracy and prefix-LM perplexity on fixed batches."""
    model = objective.model
    model.eval()
    sums = {"mlm": [0.0, 0.0], "prefix": [0.0, 0.0]}
    with paddle.no_grad():
        for i in range(args.eval_batches):
            for kind in ("mlm", "prefix"):
                ratio = 1.0 if kind == "prefix" else 0.0
                _, arrays = build_batch(corpus, special, i, 0, 1, args.batch_size, args.seed + 1000, ratio)
                loss, acc = objective(kind, arrays, train=False)
                sums[kind][0] += float(loss)
                sums[kind][1] += float(acc)
    model.train()
    n = args.eval_batches
    return {"eval_mlm_loss": sums["mlm"][0] / n, "eval_mlm_acc": sums["mlm"][1] / n,
            "eval_prefix_loss": sums["prefix"][0] / n, "eval_prefix_ppl": math.exp(sums["prefix"][0] / n),
            "eval_prefix_acc": sums["prefix"][1] / n}


def run_pretraining(args: PretrainArgs, tokenizer_dir: Path) -> Path:
    """Train (or resume) until ``max_steps``; returns the checkpoint directory."""
    from tqdm import tqdm

    world = paddle.distributed.get_world_size()
    rank = paddle.distributed.get_rank()
    if world > 1:
        paddle.distributed.init_parallel_env()
    threads = set_cpu_threads(args.threads or max(1, available_cores() // world))
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    special = special_ids(tokenizer_dir)
    train = PackedCorpus(Path(args.data_dir), "train", args.seq_len)
    heldout = PackedCorpus(Path(args.data_dir), "heldout", args.seq_len)

    paddle.seed(args.seed)
    config = RootsConfig(vocab_size=special.vocab_size, pad_token_id=special.pad, **args.model)
    if args.init_from:
        model = RootsForMaskedLM.from_pretrained(args.init_from)
        config = model.config
        model.train()
    else:
        model = RootsForMaskedLM(config)
    opt, schedule = build_optimizer(model, args)
    ckpt_dir = out / "checkpoint"
    state = load_checkpoint(ckpt_dir, model, opt)
    start_step = state["step"] if state else 0
    tokens_seen = state.get("tokens_seen", 0) if state else 0
    elapsed_before = state.get("train_seconds", 0.0) if state else 0.0
    schedule.last_epoch = start_step - 1
    schedule.step()
    if rank == 0:
        config.save_pretrained(out)
        (out / "pretrain_args.json").write_text(json.dumps(asdict(args), indent=2))
    log = JsonlLog(out / "log.jsonl", rank == 0)
    peak = measure_matmul_peak() if rank == 0 else {}
    flops_tok = encoder_flops_per_token(config.hidden_size, config.num_hidden_layers,
                                        config.intermediate_size, args.seq_len)
    objective = HybridObjective(model, args.static)
    model.train()
    log.write({"event": "start", "step": start_step, "world": world, "threads": threads,
               "params": model.num_parameters(), "matmul_peak": peak, "static": args.static})
    bar = tqdm(range(start_step, args.max_steps), initial=start_step, total=args.max_steps,
               disable=rank != 0, desc="pretrain", mininterval=10)
    t_start = time.time()
    window_t, window_tokens, window_flops = time.time(), 0, 0.0
    for step in bar:
        kind, arrays = build_batch(train, special, step, rank, world, args.batch_size, args.seed,
                                   args.prefix_ratio)
        paddle.seed(args.seed * 1_000_003 + step * world + rank)  # dropout: a function of the step too
        loss, acc = objective(kind, arrays)
        loss.backward()
        all_reduce_gradients(model, world)
        opt.step()
        opt.clear_grad()
        schedule.step()
        n_tok = args.batch_size * args.seq_len * world
        tokens_seen += n_tok
        window_tokens += n_tok
        window_flops += n_tok * flops_tok + head_flops(config.hidden_size, config.vocab_size,
                                                       len(arrays["labels"]) * world)
        if (step + 1) % 20 == 0:
            dt = time.time() - window_t
            rec = {"step": step + 1, "kind": kind, "loss": float(loss), "acc": float(acc),
                   "lr": schedule.get_lr(), "tokens_seen": tokens_seen, "tokens_per_s": window_tokens / dt,
                   "model_gflops": window_flops / dt / 1e9 / world}
            if peak:
                rec["mfu"] = rec["model_gflops"] / max(peak["numpy_gflops"], peak["paddle_gflops"])
                rec["mfu_vs_numpy"] = rec["model_gflops"] / peak["numpy_gflops"]
                rec["mfu_vs_paddle"] = rec["model_gflops"] / peak["paddle_gflops"]
            log.write(rec)
            bar.set_postfix(loss=f"{rec['loss']:.3f}", tok_s=f"{rec['tokens_per_s']:.0f}")
            window_t, window_tokens, window_flops = time.time(), 0, 0.0
        done = step + 1 == args.max_steps
        out_of_time = bool((args.stop_after_seconds and time.time() - t_start > args.stop_after_seconds)
                           or (args.stop_at_step and step + 1 >= args.stop_at_step))
        if rank == 0 and ((step + 1) % args.eval_every == 0 or done):
            metrics = evaluate(objective, heldout, special, args)
            log.write({"step": step + 1, "tokens_seen": tokens_seen, **metrics})
            plot_log(out / "log.jsonl", out / "pretrain_curve.png")
        if rank == 0 and ((step + 1) % args.save_every == 0 or done or out_of_time):
            save_checkpoint(ckpt_dir, model, opt, {
                "step": step + 1, "tokens_seen": tokens_seen,
                "train_seconds": elapsed_before + time.time() - t_start, "args": asdict(args)})
        if out_of_time:
            logger.info("stopping after %.0f s at step %d (resume with --resume)", time.time() - t_start, step + 1)
            break
    if world > 1:
        log.write({"event": "replica_check", **replica_check(model)})
    return ckpt_dir


def replica_check(model) -> dict:
    """Gather a weight fingerprint from every process: data parallelism must keep them identical."""
    flat = paddle.concat([p.reshape([-1]).astype("float64") for p in model.parameters()])
    weights = paddle.arange(flat.shape[0], dtype="float64") % 997 + 1
    fingerprint = paddle.stack([flat.sum(), (flat * weights).sum(), flat.abs().max()])
    gathered = []
    paddle.distributed.all_gather(gathered, fingerprint)
    values = [g.numpy().tolist() for g in gathered]
    return {"identical": all(v == values[0] for v in values), "fingerprints": values}


def plot_log(log_path: Path, png_path: Path) -> Optional[Path]:
    """Training loss by objective and held-out metrics against tokens seen."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [json.loads(line) for line in open(log_path, encoding="utf-8") if line.strip()]
    train = [r for r in rows if "loss" in r]
    evals = [r for r in rows if "eval_mlm_acc" in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for kind, colour in (("mlm", "tab:blue"), ("prefix", "tab:orange")):
        pts = [(r["tokens_seen"] / 1e6, r["loss"]) for r in train if r["kind"] == kind]
        if pts:
            axes[0].plot(*zip(*pts), ".", ms=3, color=colour, alpha=0.6, label=f"train {kind} loss")
    axes[0].set_xlabel("tokens seen (M)")
    axes[0].set_ylabel("loss")
    axes[0].legend()
    if evals:
        x = [r["tokens_seen"] / 1e6 for r in evals]
        axes[1].plot(x, [r["eval_mlm_acc"] for r in evals], "o-", label="held-out MLM accuracy")
        axes[1].set_ylabel("MLM accuracy")
        twin = axes[1].twinx()
        twin.plot(x, [r["eval_prefix_ppl"] for r in evals], "s-", color="tab:orange", label="prefix-LM ppl")
        twin.set_ylabel("prefix-LM perplexity")
        twin.set_yscale("log")
        axes[1].legend(loc="upper left")
        twin.legend(loc="upper right")
    axes[1].set_xlabel("tokens seen (M)")
    fig.suptitle("roots-base pretraining")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path
