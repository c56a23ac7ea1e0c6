#!/usr/bin/env python
"""Pretrain roots-base on one borrowed GPU, in PyTorch, with the same model and hybrid objective.

The lent GPU machine has PyTorch but no Paddle, so this script re-implements exactly what
``roots_zh.training.pretrain`` trains -- the Post-LN BERT encoder of ``RootsForMaskedLM`` (tied LM
head with transform + LayerNorm) and the hybrid objective (whole-word MLM with jieba word starts,
15 %, 80/10/10; prefix LM: split in the middle half, next-token loss on half the target) -- with
batches built on the GPU. It writes HF-BERT-named safetensors shards (<= 15 MiB each, so they
travel back) that ``RootsForMaskedLM.from_pretrained`` reads through its HF loader.

    # CPU, here: the corpus from `tools/pretrain.py prepare`, compressed for the trip
    python tools/pretrain_gpu.py pack --data work_dirs/corpus_gpu --out gpu_carry/data
    # GPU (torch + numpy only): resumable within a warm machine through --state
    python tools/pretrain_gpu.py train --data gpu_carry/data --out $OUT --state gpu_state --seconds 520
    # CPU, here: shards -> a ROOTS model directory (fp32) with config and tokenizer
    python tools/pretrain_gpu.py assemble --shards <files_at> --tokenizer pretrained/roots-base --to DIR

``pack`` and ``assemble`` run here and use roots_zh; ``train`` needs only numpy and torch.
"""
from __future__ import annotations

import argparse
import json
import lzma
import math
import os
import time
from pathlib import Path

import numpy as np

SHARD_BYTES = 15 * 2 ** 20


# ----------------------------------------------------------------------------- pack (CPU side)
def cmd_pack(ns) -> None:
    """``{split}_ids.npy`` (uint16) and ``{split}_starts.npy`` -> xz streams + meta, under a size cap."""
    src, out = Path(ns.data), Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "meta.json").read_text(encoding="utf-8"))
    sizes = {}
    for split in ("heldout", "train"):
        ids = np.load(src / f"{split}_ids.npy")
        starts = np.load(src / f"{split}_starts.npy")
        if split == "train" and ns.max_tokens and len(ids) > ns.max_tokens:
            ids, starts = ids[: ns.max_tokens], starts[: ns.max_tokens]
        (out / f"{split}_ids.u16.xz").write_bytes(lzma.compress(ids.astype("<u2").tobytes(), preset=ns.preset))
        (out / f"{split}_starts.bits.xz").write_bytes(lzma.compress(np.packbits(starts.astype(bool)).tobytes()))
        sizes[split] = int(len(ids))
    from dataclasses import asdict

    from roots_zh.training.pretrain_data import special_ids

    special = asdict(special_ids(Path(meta["tokenizer_dir"])))
    packed = {"tokens": sizes, "vocab_size": special.pop("vocab_size"), "special": special,
              "source_meta": {k: meta[k] for k in ("weights", "sources", "heldout_every", "seed")}}
    (out / "meta.json").write_text(json.dumps(packed, ensure_ascii=False, indent=2), encoding="utf-8")
    total = sum(f.stat().st_size for f in out.iterdir())
    print(json.dumps({"tokens": sizes, "bytes": total, "mib": round(total / 2 ** 20, 1)}))


def load_packed(data_dir: Path, split: str, n_tokens: int):
    ids = np.frombuffer(lzma.decompress((data_dir / f"{split}_ids.u16.xz").read_bytes()), dtype="<u2")
    bits = np.frombuffer(lzma.decompress((data_dir / f"{split}_starts.bits.xz").read_bytes()), dtype=np.uint8)
    starts = np.unpackbits(bits)[:n_tokens]
    if len(ids) != n_tokens:
        raise ValueError(f"{split}: {len(ids)} ids, meta says {n_tokens}")
    return ids, starts


# ----------------------------------------------------------------------------- model (torch)
def build_model(cfg: dict):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    hid, heads, inter, p = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], 0.1
    eps = cfg.get("layer_norm_eps", 1e-12)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(hid, 3 * hid)
            self.out = nn.Linear(hid, hid)
            self.attention_norm = nn.LayerNorm(hid, eps=eps)
            self.fc1 = nn.Linear(hid, inter)
            self.fc2 = nn.Linear(inter, hid)
            self.ffn_norm = nn.LayerNorm(hid, eps=eps)

        def forward(self, x, mask):
            b, s, _ = x.shape
            q, k, v = self.qkv(x).view(b, s, 3, heads, hid // heads).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p if self.training else 0.0)
            x = self.attention_norm(x + F.dropout(self.out(ctx.transpose(1, 2).reshape(b, s, hid)), p, self.training))
            return self.ffn_norm(x + F.dropout(self.fc2(F.gelu(self.fc1(x))), p, self.training))

    class MaskedLM(nn.Module):
        """RootsForMaskedLM in torch: embeddings + Post-LN layers + tied LM head at given rows."""

        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(cfg["vocab_size"], hid)
            self.position = nn.Embedding(cfg["max_position_embeddings"], hid)
            self.token_type = nn.Embedding(cfg["type_vocab_size"], hid)
            self.emb_norm = nn.LayerNorm(hid, eps=eps)
            self.layers = nn.ModuleList([Layer() for _ in range(cfg["num_hidden_layers"])])
            self.transform = nn.Linear(hid, hid)
            self.head_norm = nn.LayerNorm(hid, eps=eps)
            self.decoder_bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(m.weight, 0.0, cfg.get("initializer_range", 0.02))
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)

        def forward(self, ids, token_type, mask, rows):
            s = ids.shape[1]
            x = self.word(ids) + self.position.weight[:s] + self.token_type(token_type)
            x = F.dropout(self.emb_norm(x), p, self.training)
            for layer in self.layers:
                x = layer(x, mask)
            h = x.reshape(-1, hid)[rows]
            h = self.head_norm(F.gelu(self.transform(h)))
            return h @ self.word.weight.t() + self.decoder_bias

    return MaskedLM()


def _hf_names(n_layers: int):
    """``(torch name, HF BertForPreTraining name)`` of every weight except the fused q/k/v."""
    yield "word.weight", "bert.embeddings.word_embeddings.weight"
    yield "position.weight", "bert.embeddings.position_embeddings.weight"
    yield "token_type.weight", "bert.embeddings.token_type_embeddings.weight"
    yield "decoder_bias", "cls.predictions.bias"
    for kind in ("weight", "bias"):
        yield f"emb_norm.{kind}", f"bert.embeddings.LayerNorm.{kind}"
        yield f"transform.{kind}", f"cls.predictions.transform.dense.{kind}"
        yield f"head_norm.{kind}", f"cls.predictions.transform.LayerNorm.{kind}"
        for i in range(n_layers):
            for src, dst in (("out", "attention.output.dense"), ("attention_norm", "attention.output.LayerNorm"),
                             ("fc1", "intermediate.dense"), ("fc2", "output.dense"), ("ffn_norm", "output.LayerNorm")):
                yield f"layers.{i}.{src}.{kind}", f"bert.encoder.layer.{i}.{dst}.{kind}"


def _qkv_names(n_layers: int):
    """``(fused torch name, [HF query, key, value names])``."""
    for i in range(n_layers):
        for kind in ("weight", "bias"):
            yield (f"layers.{i}.qkv.{kind}",
                   [f"bert.encoder.layer.{i}.attention.self.{n}.{kind}" for n in ("query", "key", "value")])


def hf_state_dict(model) -> dict:
    """torch module names -> HF ``BertForPreTraining`` names (q/k/v split, weights stay [out, in])."""
    sd = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    out = {hf: sd[name] for name, hf in _hf_names(len(model.layers))}
    for name, parts in _qkv_names(len(model.layers)):
        out.update({hf: t.contiguous() for hf, t in zip(parts, sd[name].chunk(3, dim=0))})
    return out


def save_shards(tensors: dict, out_dir: Path, meta: dict) -> list:
    """Greedy shards of at most ``SHARD_BYTES`` (one tensor may fill a shard alone), atomically."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    shards, current, size = [], {}, 0
    for name in sorted(tensors, key=lambda n: -tensors[n].numel()):
        nbytes = tensors[name].numel() * tensors[name].element_size()
        if current and size + nbytes > SHARD_BYTES:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensors[name]
        size += nbytes
    shards.append(current)
    names = []
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:02d}-of-{len(shards):02d}.safetensors"
        save_file(shard, str(out_dir / (name + ".tmp")), metadata={"format": "pt"})
        os.replace(out_dir / (name + ".tmp"), out_dir / name)
        names.append(name)
    (out_dir / "shards.json").write_text(json.dumps({"shards": names, **meta}, indent=2))
    return names


# ----------------------------------------------------------------------------- batches (torch, on GPU)
class GpuBatcher:
    """Packed windows ``[CLS] body [SEP]`` from a flat stream held on the device, and the two
    objectives' inputs, as ``roots_zh.training.pretrain_data`` builds them (GPU random numbers)."""

    def __init__(self, ids, starts, seq_len: int, special: dict, vocab_size: int, device, seed: int):
        import torch

        self.torch = torch
        self.ids = torch.from_numpy(ids.astype(np.int32)).to(device)
        self.starts = torch.from_numpy(starts.astype(np.int32)).to(device)
        self.seq_len, self.body = seq_len, seq_len - 2
        self.n_windows = len(ids) // self.body
        self.special, self.vocab_size, self.device, self.seed = special, vocab_size, device, seed
        self.offsets = torch.arange(self.body, device=device)
        self._epoch, self._perm = None, None  # the current epoch's window order

    def windows(self, step: int, batch: int):
        """Window indices of ``step``: a seeded permutation per epoch, so resuming is exact."""
        torch = self.torch
        per_epoch = self.n_windows // batch
        epoch, within = divmod(step, per_epoch)
        if self._epoch != epoch:
            g = torch.Generator(device="cpu").manual_seed(self.seed * 1000 + epoch)
            self._perm, self._epoch = torch.randperm(self.n_windows, generator=g).to(self.device), epoch
        return self._perm[within * batch:(within + 1) * batch], epoch

    def rows(self, index):
        torch = self.torch
        flat = (index[:, None].long() * self.body + self.offsets).reshape(-1)
        body = self.ids[flat].view(len(index), self.body).long()
        starts = self.starts[flat].view(len(index), self.body)
        n = len(index)
        ids = torch.cat([torch.full((n, 1), self.special["cls"], device=self.device), body,
                         torch.full((n, 1), self.special["sep"], device=self.device)], 1)
        return ids, starts

    def mlm(self, ids, starts, g, rate: float = 0.15):
        torch = self.torch
        n, body = starts.shape
        per_row = max(1, int(round(body * rate)))
        word = torch.cumsum(starts, 1)
        word = word - word[:, :1]  # word index of each body token, from 0
        rank = torch.rand(n, body, device=self.device, generator=g).argsort(1)  # a random order of words
        key = rank.gather(1, word) * body + torch.arange(body, device=self.device)  # whole words first
        pos = key.topk(per_row, dim=1, largest=False).indices.sort(1).values + 1
        labels = ids.gather(1, pos)
        choice = torch.rand(pos.shape, device=self.device, generator=g)
        inputs = ids.clone()
        replaced = torch.where(choice < 0.8, torch.full_like(labels, self.special["mask"]),
                               torch.randint(self.special["first_normal"], self.vocab_size, labels.shape,
                                             device=self.device, generator=g))
        inputs.scatter_(1, pos, torch.where(choice < 0.9, replaced, labels))
        rows = (pos + torch.arange(n, device=self.device)[:, None] * self.seq_len).reshape(-1)
        return inputs, torch.zeros_like(ids), None, rows, labels.reshape(-1)

    def prefix(self, ids, g, loss_rate: float = 0.5):
        torch = self.torch
        n, s = ids.shape
        lo, hi = s // 4, 3 * s // 4
        per_row = max(1, int((s - hi) * loss_rate))
        split = torch.randint(lo, hi + 1, (n, 1), device=self.device, generator=g)
        ar = torch.arange(s, device=self.device)
        token_type = (ar[None, :] >= split).long()
        # position p predicts p+1; candidates split-1 .. s-2, a random per_row of them
        cand = (ar[None, :] >= split - 1) & (ar[None, :] <= s - 2)
        score = torch.where(cand, torch.rand(n, s, device=self.device, generator=g), torch.full((n, s), 2.0, device=self.device))
        pos = score.topk(per_row, dim=1, largest=False).indices.sort(1).values
        labels = ids.gather(1, pos + 1)
        source = token_type == 0  # (n, s): keys every query may see
        allowed = (ar[None, :] <= ar[:, None])[None] | source[:, None, :]  # (n, q, k)
        rows = (pos + torch.arange(n, device=self.device)[:, None] * s).reshape(-1)
        return ids, token_type, allowed[:, None], rows, labels.reshape(-1)

    def batch(self, step: int, batch: int, prefix_ratio: float):
        torch = self.torch
        index, epoch = self.windows(step, batch)
        ids, starts = self.rows(index)
        g = torch.Generator(device=self.device).manual_seed(self.seed * 1_000_003 + step)
        kind = "prefix" if np.random.default_rng([self.seed, step, 7]).random() < prefix_ratio else "mlm"
        return kind, epoch, (self.prefix(ids, g) if kind == "prefix" else self.mlm(ids, starts, g))


# ----------------------------------------------------------------------------- train (GPU side)
def lr_at(step: int, ns, seconds_left: float) -> float:
    """Warmup, then constant (warmup-stable-decay, so a run can be continued); with
    ``--decay-seconds`` the call's last seconds decay it linearly to ``min_lr_ratio``."""
    if step < ns.warmup_steps:
        return ns.lr * (step + 1) / ns.warmup_steps
    if not ns.decay_seconds or seconds_left >= ns.decay_seconds:
        return ns.lr
    frac = min(1.0, max(0.0, 1 - seconds_left / ns.decay_seconds))
    return ns.lr * (1 - frac) + ns.lr * ns.min_lr_ratio * frac


def cmd_train(ns) -> None:
    import torch
    import torch.nn.functional as F

    t0 = time.time()
    data, out, state_dir = Path(ns.data), Path(ns.out), Path(ns.state)
    out.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = out / "log.jsonl"
    prior_log = state_dir / "log.jsonl"
    if prior_log.is_file():  # the warm machine kept the earlier calls' log: carry it forward
        log_path.write_text(prior_log.read_text())

    def log(rec):
        rec = {"time": round(time.time() - t0, 1), **rec}
        with open(log_path, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log({"event": "env", "torch": torch.__version__, "device": str(device),
         "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None})
    meta = json.loads((data / "meta.json").read_text(encoding="utf-8"))
    special = meta["special"]
    cfg = {"vocab_size": meta["vocab_size"], "hidden_size": ns.hidden, "num_hidden_layers": ns.layers,
           "num_attention_heads": ns.heads, "intermediate_size": ns.intermediate,
           "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
           "initializer_range": 0.02, "hidden_act": "gelu", "pad_token_id": special["pad"]}
    train_ids, train_starts = load_packed(data, "train", meta["tokens"]["train"])
    held_ids, held_starts = load_packed(data, "heldout", meta["tokens"]["heldout"])
    train = GpuBatcher(train_ids, train_starts, ns.seq_len, special, cfg["vocab_size"], device, ns.seed)
    held = GpuBatcher(held_ids, held_starts, ns.seq_len, special, cfg["vocab_size"], device, ns.seed + 1000)
    log({"event": "data", "train_tokens": len(train_ids), "heldout_tokens": len(held_ids),
         "windows": train.n_windows, "load_s": round(time.time() - t0, 1)})

    torch.manual_seed(ns.seed)
    model = build_model(cfg).to(device)
    decay = [p for p in model.parameters() if p.ndim == 2]  # matrices; not biases or LayerNorms
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": ns.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=ns.lr, betas=(0.9, 0.98), eps=1e-6, fused=device.type == "cuda")
    step, tokens_seen, train_seconds, rewarm_from, best_acc = 0, 0, 0.0, None, -1.0
    ckpt = state_dir / "state.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, tokens_seen, train_seconds = state["step"], state["tokens_seen"], state["train_seconds"]
        best_acc = state.get("best_acc", -1.0)  # the shards already returned hold that model
        log({"event": "resumed", "step": step, "tokens_seen": tokens_seen})
    elif ns.init_shards:
        # a cold machine lost the optimizer state: continue the count, re-warm the fresh moments
        load_hf_shards_into(model, Path(ns.init_shards), device)
        info = json.loads((Path(ns.init_shards) / "shards.json").read_text())
        step, tokens_seen = info["step"], info["tokens_seen"]
        train_seconds = info.get("train_seconds", 0.0)
        rewarm_from = step
        log({"event": "init_from_shards", "dir": ns.init_shards, "step": step})

    fwd = model
    if ns.compile and device.type == "cuda":
        fwd = torch.compile(model)

    def loss_of(kind_batch):
        nonlocal fwd
        ids, token_type, mask, rows, labels = kind_batch
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            try:
                logits = fwd(ids, token_type, mask, rows)
            except Exception as exc:  # noqa: BLE001 - a compiler failure must not lose the run
                if fwd is model:
                    raise
                log({"event": "compile_failed", "error": repr(exc)[:500]})
                fwd = model
                logits = fwd(ids, token_type, mask, rows)
        loss = F.cross_entropy(logits.float(), labels)
        return loss, (logits.argmax(-1) == labels).float().mean()

    def evaluate():
        model.eval()
        sums = {"mlm": [0.0, 0.0], "prefix": [0.0, 0.0]}
        with torch.no_grad():
            for i in range(ns.eval_batches):
                for kind, ratio in (("mlm", 0.0), ("prefix", 1.0)):
                    _, _, b = held.batch(i, ns.batch_size, ratio)
                    loss, acc = loss_of(b)
                    sums[kind][0] += loss.item()
                    sums[kind][1] += acc.item()
        model.train()
        n = ns.eval_batches
        return {"eval_mlm_loss": sums["mlm"][0] / n, "eval_mlm_acc": sums["mlm"][1] / n,
                "eval_prefix_ppl": math.exp(sums["prefix"][0] / n), "eval_prefix_acc": sums["prefix"][1] / n}

    def save_state():
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "tokens_seen": tokens_seen, "train_seconds": train_seconds, "best_acc": best_acc}, tmp)
        os.replace(tmp, ckpt)
        (state_dir / "log.jsonl").write_text(log_path.read_text())

    def write_shards(final: bool):
        names = save_shards(hf_state_dict(model), out / "shards", {
            "config": cfg, "step": step, "tokens_seen": tokens_seen, "train_seconds": round(train_seconds, 1),
            "seq_len": ns.seq_len, "batch_size": ns.batch_size, "lr": ns.lr, "final": final,
            "data": meta["source_meta"], "torch": torch.__version__})
        return names

    model.train()
    budget_end = t0 + ns.seconds
    window_t, window_tok = time.time(), 0
    log({"event": "start", "step": step, "params": sum(p.numel() for p in model.parameters()),
         "setup_s": round(time.time() - t0, 1)})
    while True:
        now = time.time()
        if now >= budget_end:
            break
        lr = lr_at(step, ns, budget_end - now)
        if rewarm_from is not None:
            lr *= min(1.0, (step - rewarm_from + 1) / ns.rewarm_steps)
        for group in opt.param_groups:
            group["lr"] = lr
        kind, epoch, b = train.batch(step, ns.batch_size, ns.prefix_ratio)
        loss, acc = loss_of(b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        n_tok = ns.batch_size * ns.seq_len
        tokens_seen += n_tok
        window_tok += n_tok
        if step % ns.log_every == 0:
            if device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.time() - window_t
            train_seconds += dt
            log({"step": step, "kind": kind, "epoch": epoch, "loss": loss.item(), "acc": acc.item(),
                 "lr": lr, "tokens_seen": tokens_seen, "tokens_per_s": round(window_tok / dt)})
            window_t, window_tok = time.time(), 0
        if step % ns.eval_every == 0:
            metrics = evaluate()
            log({"step": step, "tokens_seen": tokens_seen, **metrics})
            if metrics["eval_mlm_acc"] > best_acc:  # the returned shards are the best held-out model
                best_acc = metrics["eval_mlm_acc"]
                write_shards(final=False)
            window_t = time.time()
        if step % ns.save_every == 0:
            save_state()
            window_t = time.time()
    metrics = evaluate()
    log({"step": step, "tokens_seen": tokens_seen, **metrics, "event": "end"})
    save_state()
    improved = metrics["eval_mlm_acc"] > best_acc or not (out / "shards" / "shards.json").is_file()
    names = write_shards(final=bool(ns.decay_seconds)) if improved else "kept best"
    log({"event": "exported", "shards": names, "total_s": round(time.time() - t0, 1)})


def load_hf_shards_into(model, shard_dir: Path, device) -> None:
    """Inverse of ``hf_state_dict`` for the torch model (continue from returned shards)."""
    import torch
    from safetensors.torch import load_file

    hf = {}
    for f in sorted(shard_dir.glob("*.safetensors")):
        hf.update(load_file(str(f)))
    sd = {name: hf[hf_name] for name, hf_name in _hf_names(len(model.layers))}
    sd.update({name: torch.cat([hf[p] for p in parts]) for name, parts in _qkv_names(len(model.layers))})
    model.load_state_dict({k: v.to(device) for k, v in sd.items()})


# ----------------------------------------------------------------------------- assemble (CPU side)
def cmd_assemble(ns) -> None:
    """Shards -> one ROOTS model directory: merged HF-named weights read by the HF loader, saved as
    ROOTS (fp32), with the tokenizer files copied beside them."""
    import shutil

    from safetensors.numpy import load_file

    from roots_zh.modeling import RootsConfig, RootsForMaskedLM
    from roots_zh.modeling.convert import to_roots_names

    shard_dir, target = Path(ns.shards), Path(ns.to)
    info = json.loads((shard_dir / "shards.json").read_text())
    state = {}
    for name in info["shards"]:
        state.update(load_file(str(shard_dir / name)))
    cfg = info["config"]
    config = RootsConfig(**cfg)
    model = RootsForMaskedLM(config)
    model.load_roots_state(to_roots_names(state))
    model.save_pretrained(target, dtype=ns.dtype)
    for name in ("spm.model", "spm.vocab", "tokenizer_config.json"):
        source = Path(ns.tokenizer) / name
        if source.is_file() and not ((target / name).exists() and (target / name).samefile(source)):
            shutil.copy(source, target / name)
    (target / "gpu_pretrain.json").write_text(json.dumps({k: v for k, v in info.items() if k != "shards"}, indent=2))
    if (shard_dir.parent / "log.jsonl").is_file():  # the run's loss and held-out curves
        from roots_zh.training.pretrain import plot_log

        plot_log(shard_dir.parent / "log.jsonl", target / "pretrain_curve.png")
    print(f"wrote {target} (step {info['step']}, {info['tokens_seen'] / 1e6:.0f} M tokens)")
    if ns.register:
        from roots_zh.hub.registry import register_model

        register_model(ns.register, target, description="ROOTS base encoder pretrained by this project",
                       how_to_get="run `python tools/pretrain_gpu.py pack/train/assemble` (see the model card)")
        print(f"registered {ns.register}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="compress a prepared corpus for the GPU machine")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument("--preset", type=int, default=6)
    p.set_defaults(fn=cmd_pack)
    t = sub.add_parser("train", help="train on the GPU (torch)")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--state", required=True, help="checkpoint folder kept on the warm machine")
    t.add_argument("--init-shards", default=None, help="start from returned shards (fresh optimizer)")
    t.add_argument("--seconds", type=float, default=520, help="wall budget of this call, set-up included")
    t.add_argument("--decay-seconds", type=float, default=0, help="final call: decay the LR over this tail")
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--layers", type=int, default=4)
    t.add_argument("--heads", type=int, default=4)
    t.add_argument("--intermediate", type=int, default=1024)
    t.add_argument("--seq-len", type=int, default=128)
    t.add_argument("--batch-size", type=int, default=512)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--min-lr-ratio", type=float, default=0.02)
    t.add_argument("--warmup-steps", type=int, default=1000)
    t.add_argument("--rewarm-steps", type=int, default=300, help="LR warmup after --init-shards")
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--prefix-ratio", type=float, default=0.3)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--log-every", type=int, default=100)
    t.add_argument("--eval-every", type=int, default=2000)
    t.add_argument("--eval-batches", type=int, default=8)
    t.add_argument("--save-every", type=int, default=5000)
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True)
    t.set_defaults(fn=cmd_train)
    e = sub.add_parser("assemble", help="returned shards -> a ROOTS model directory")
    e.add_argument("--shards", required=True)
    e.add_argument("--tokenizer", required=True)
    e.add_argument("--to", required=True)
    e.add_argument("--dtype", default=None, choices=["float32", "float16", "int8"],
                   help="weight storage (default: fp32, as trained; ship float16)")
    e.add_argument("--register", default=None, help="register the directory under this name (e.g. roots-base)")
    e.set_defaults(fn=cmd_assemble)
    ns = ap.parse_args(argv)
    ns.fn(ns)


if __name__ == "__main__":
    main()
