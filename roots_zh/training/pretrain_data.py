"""Pretraining data: corpus sampling, tokenisation with jieba word boundaries, packing, and the
hybrid (whole-word MLM + prefix LM) batch builder.

The corpus is tokenised once into flat ``uint16`` id arrays (documents joined by ``[SEP]``) plus a
``uint8`` flag per token marking the start of a jieba word; training cuts fixed-length windows.
Everything after preparation is a pure function of ``(seed, step, rank)``, so ``--resume`` replays
exactly the same batches.
"""
from __future__ import annotations

import gzip
import json
import logging
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..utils.files import atomic_save, atomic_write_text

logger = logging.getLogger(__name__)

# Fraction of each corpus file's documents used (news transcripts and statutes are down-weighted so
# reviews, questions, web text and Wikipedia keep a fair share).
DEFAULT_FILE_WEIGHTS: Dict[str, float] = {
    "cctv_news": 0.35, "bedtime_news": 0.5, "law": 0.3, "web_news_inews": 1.0,
    "zhihu_hot_questions": 1.0, "reviews": 1.0, "tech_weekly_mixed": 1.0, "medical_qa": 1.0,
    "en_zh_parallel": 1.0, "cluecorpussmall_sample": 1.0, "zhwiki_sentences": 1.0,
    "classical_poetry_sample": 1.0, "recipes": 1.0,
}


def iter_corpus(corpus_dir: Path, weights: Dict[str, float], seed: int = 0) -> Iterator[Tuple[str, str]]:
    """Yield ``(source, line)`` for a seeded sample of each ``*.txt.gz`` file's lines (a weight
    above 1 keeps every line; ``prepare_corpus`` repeats those in the train split)."""
    files = sorted(Path(corpus_dir).glob("*.txt.gz"))
    if not files:
        raise FileNotFoundError(f"no *.txt.gz corpus files in {corpus_dir}")
    for path in files:
        source = path.name[: -len(".txt.gz")]
        keep = weights.get(source, 1.0)
        rng = np.random.default_rng([seed, len(source)])
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if line and rng.random() < keep:
                    yield source, line


_WORKER = {}


def _init_worker(tokenizer_dir: str) -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    _WORKER["tokenizer_dir"] = tokenizer_dir


def _sentencepiece(tokenizer_dir: str):
    import sentencepiece as spm

    key = ("spm", tokenizer_dir)
    if key not in _WORKER:
        _WORKER[key] = spm.SentencePieceProcessor(model_file=str(Path(tokenizer_dir) / "spm.model"))
    return _WORKER[key]


def encode_with_word_starts(text: str, tokenizer_dir: Optional[str] = None) -> Tuple[List[int], List[int]]:
    """Token ids of ``text`` and a 0/1 flag per token: 1 where the token starts a jieba word.

    With a SentencePiece model (``spm.model``) this is ``RootsTokenizer``'s encoding (same
    normalisation, then SentencePiece) done in bulk; otherwise the directory's tokenizer is used."""
    import jieba

    tokenizer_dir = tokenizer_dir or _WORKER["tokenizer_dir"]
    if (Path(tokenizer_dir) / "spm.model").is_file():
        from ..tokenization.normalize import normalize

        text = normalize(text)
        pieces = _sentencepiece(tokenizer_dir).encode(text, return_type="proto").pieces
        byte_to_char = np.cumsum([0] + [len(c.encode("utf-8")) for c in text])
        ids = [p.id for p in pieces]
        token_starts = np.searchsorted(byte_to_char, [p.begin for p in pieces], side="right") - 1
    else:
        from ..tokenization.auto import AutoTokenizer

        key = ("auto", tokenizer_dir)
        if key not in _WORKER:
            _WORKER[key] = AutoTokenizer.from_pretrained(tokenizer_dir)
        enc = _WORKER[key](text, add_special_tokens=False, return_offsets_mapping=True)
        ids = enc["input_ids"]
        token_starts = [start for start, _ in enc["offset_mapping"]]
    starts, pos = set(), 0
    for word in jieba.cut(text, HMM=True):
        starts.add(pos)
        pos += len(word)
    flags, prev_start = [], -1
    for start in token_starts:
        # byte-fallback pieces of one character share its start: they continue the word
        flags.append(1 if start in starts and start != prev_start else 0)
        prev_start = start
    if flags:
        flags[0] = 1
    return list(ids), flags


def _encode_job(item: Tuple[int, str]) -> Tuple[int, List[int], List[int]]:
    idx, text = item
    ids, flags = encode_with_word_starts(text)
    return idx, ids, flags


def prepare_corpus(corpus_dir: Path, tokenizer_dir: Path, out_dir: Path, heldout_every: int = 200,
                   weights: Optional[Dict[str, float]] = None, workers: int = 2, seed: int = 0,
                   max_docs: Optional[int] = None) -> dict:
    """Tokenise a corpus sample into ``{train,heldout}_{ids,starts}.npy`` plus ``meta.json``."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    special = special_ids(tokenizer_dir)
    sep = special.sep
    if special.vocab_size > np.iinfo(np.uint16).max:
        raise ValueError(f"vocab_size {special.vocab_size} does not fit uint16 storage")
    weights = dict(DEFAULT_FILE_WEIGHTS if weights is None else weights)
    bad = {k: v for k, v in weights.items() if not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise ValueError(f"`weights` must map file names to numbers >= 0, got {bad}")
    docs = list(iter_corpus(corpus_dir, weights, seed))
    if max_docs:
        docs = docs[:max_docs]
    rng = np.random.default_rng([seed, 7])
    sources: Dict[str, Dict[str, int]] = {}
    parts = {"train": ([], []), "heldout": ([], [])}
    with mp.Pool(workers, initializer=_init_worker, initargs=(str(tokenizer_dir),)) as pool:
        jobs = pool.imap(_encode_job, enumerate(text for _, text in docs), chunksize=64)
        for idx, ids, flags in tqdm(jobs, total=len(docs), desc="tokenise corpus", mininterval=5):
            split = "heldout" if idx % heldout_every == 0 else "train"
            weight = weights.get(docs[idx][0], 1.0)
            # weight > 1 up-samples a source: whole copies plus a random extra one; held-out docs once
            copies = 1 if split == "heldout" or weight <= 1 else int(weight) + int(rng.random() < weight % 1)
            doc_ids, doc_flags = np.asarray(ids + [sep], dtype=np.uint16), np.asarray(flags + [1], dtype=np.uint8)
            parts[split][0].extend([doc_ids] * copies)  # repeats share one array until concatenation
            parts[split][1].extend([doc_flags] * copies)
            stat = sources.setdefault(docs[idx][0], {"docs": 0, "tokens": 0, "chars": 0})
            stat["docs"] += copies
            stat["tokens"] += len(ids) * copies
            stat["chars"] += len(docs[idx][1]) * copies
        pool.close()  # let workers exit on their own (terminate() would SIGTERM them)
        pool.join()
    if any(w > 1 for w in weights.values()):
        # spread the copies out, so no training window holds a document next to its own repeat
        order = rng.permutation(len(parts["train"][0]))
        parts["train"] = tuple([arrays[i] for i in order] for arrays in parts["train"])
    meta = {"tokenizer_dir": str(tokenizer_dir), "vocab_size": special.vocab_size, "seed": seed,
            "heldout_every": heldout_every, "weights": weights, "sources": sources}
    for split, (ids, flags) in parts.items():
        for name, arrays in (("ids", ids), ("starts", flags)):
            array = np.concatenate(arrays)
            atomic_save(out_dir / f"{split}_{name}.npy", lambda tmp, a=array: np.save(open(tmp, "wb"), a))
        meta[f"{split}_tokens"] = int(sum(len(a) for a in ids))
    atomic_write_text(out_dir / "meta.json", json.dumps(meta, ensure_ascii=False, indent=2))
    return meta


@dataclass
class SpecialIds:
    pad: int
    cls: int
    sep: int
    mask: int
    vocab_size: int
    first_normal: int = 5  # random replacements avoid special ids


def special_ids(tokenizer_dir: Path) -> SpecialIds:
    """Special ids and vocabulary size of a tokenizer directory (SentencePiece read directly)."""
    if (Path(tokenizer_dir) / "spm.model").is_file():
        sp = _sentencepiece(str(tokenizer_dir))
        ids = [sp.piece_to_id(p) for p in ("[PAD]", "[CLS]", "[SEP]", "[MASK]")]
        return SpecialIds(*ids, vocab_size=sp.get_piece_size(), first_normal=max(ids) + 1)
    from ..tokenization.auto import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    return SpecialIds(tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id,
                      tok.vocab_size, first_normal=max(tok.all_special_ids) + 1)


class PackedCorpus:
    """Fixed-length windows ``[CLS] tokens… [SEP]`` over a flat token stream (memory-mapped)."""

    def __init__(self, data_dir: Path, split: str, seq_len: int) -> None:
        if seq_len < 8:
            raise ValueError(f"`seq_len` must be >= 8, got {seq_len}")
        self.ids = np.load(Path(data_dir) / f"{split}_ids.npy", mmap_mode="r")
        self.starts = np.load(Path(data_dir) / f"{split}_starts.npy", mmap_mode="r")
        self.seq_len = seq_len
        self.body = seq_len - 2
        self.num_sequences = len(self.ids) // self.body
        if self.num_sequences == 0:
            raise ValueError(f"{split} split of {data_dir} is shorter than one sequence")

    def get(self, indices: np.ndarray, special: SpecialIds) -> Tuple[np.ndarray, np.ndarray]:
        """``ids [N, L]`` (int64) and word-start flags ``[N, L]`` for window ``indices``."""
        n, body = len(indices), self.body
        ids = np.empty((n, self.seq_len), dtype=np.int64)
        starts = np.ones((n, self.seq_len), dtype=np.uint8)
        ids[:, 0], ids[:, -1] = special.cls, special.sep
        for row, i in enumerate(indices):
            ids[row, 1:-1] = self.ids[i * body:(i + 1) * body]
            starts[row, 1:-1] = self.starts[i * body:(i + 1) * body]
        return ids, starts


def batch_indices(num_sequences: int, global_batch: int, step: int, seed: int) -> np.ndarray:
    """Window indices of global batch ``step``: a seeded permutation per epoch (resumable)."""
    per_epoch = num_sequences // global_batch
    if per_epoch == 0:
        raise ValueError(f"corpus has {num_sequences} sequences, fewer than one batch of {global_batch}")
    epoch, within = divmod(step, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(num_sequences)
    return perm[within * global_batch:(within + 1) * global_batch]


def mlm_batch(ids: np.ndarray, starts: np.ndarray, special: SpecialIds, rng: np.random.Generator,
              mask_rate: float = 0.15) -> Dict[str, np.ndarray]:
    """Whole-word masking with a fixed count per row (static shapes): 80% [MASK], 10% random,
    10% kept. Returns inputs, flat ``masked_positions`` and their ``labels``."""
    n_rows, seq_len = ids.shape
    per_row = max(1, int(round((seq_len - 2) * mask_rate)))
    inputs = ids.copy()
    positions = np.empty((n_rows, per_row), dtype=np.int64)
    for r in range(n_rows):
        word_ids = np.cumsum(starts[r, 1:-1].astype(np.int64))
        word_ids -= word_ids[0]  # word index of each body token, from 0
        word_rank = rng.permutation(int(word_ids[-1]) + 1)  # a random order of the words
        # tokens ordered by their word's rank: whole words are taken first
        token_order = np.argsort(word_rank[word_ids], kind="stable")
        positions[r] = np.sort(token_order[:per_row]) + 1
    labels = np.take_along_axis(ids, positions, axis=1)
    choice = rng.random(positions.shape)
    rows = np.arange(n_rows)[:, None].repeat(per_row, 1)
    to_mask = choice < 0.8
    to_random = (choice >= 0.8) & (choice < 0.9)
    inputs[rows[to_mask], positions[to_mask]] = special.mask
    inputs[rows[to_random], positions[to_random]] = rng.integers(
        special.first_normal, special.vocab_size, int(to_random.sum()))
    flat = (positions + np.arange(n_rows)[:, None] * seq_len).reshape(-1)
    return {"input_ids": inputs, "masked_positions": flat, "labels": labels.reshape(-1)}


def prefix_lm_batch(ids: np.ndarray, rng: np.random.Generator, loss_rate: float = 0.5,
                    ) -> Dict[str, np.ndarray]:
    """Split each row at a random point in its middle half: the first part is the source (type 0,
    bidirectional), the rest the target (type 1, causal). The loss covers a fixed random share of
    the target tokens (next-token prediction), so the vocabulary projection stays small."""
    n_rows, seq_len = ids.shape
    lo, hi = seq_len // 4, 3 * seq_len // 4
    per_row = max(1, int((seq_len - hi) * loss_rate))  # fits even the shortest target
    token_type = np.zeros_like(ids)
    positions = np.empty((n_rows, per_row), dtype=np.int64)
    for r in range(n_rows):
        split = int(rng.integers(lo, hi + 1))
        token_type[r, split:] = 1
        # position p predicts token p+1; targets start at `split`
        positions[r] = np.sort(rng.choice(np.arange(split - 1, seq_len - 1), per_row, replace=False))
    labels = np.take_along_axis(ids, positions + 1, axis=1)
    flat = (positions + np.arange(n_rows)[:, None] * seq_len).reshape(-1)
    return {"input_ids": ids, "token_type_ids": token_type, "prefix_mask": 1 - token_type,
            "masked_positions": flat, "labels": labels.reshape(-1)}


def build_batch(corpus: PackedCorpus, special: SpecialIds, step: int, rank: int, world: int,
                batch_size: int, seed: int, prefix_ratio: float) -> Tuple[str, Dict[str, np.ndarray]]:
    """The local batch of ``rank`` at ``step``: ``("mlm"|"prefix", arrays)``; a pure function."""
    indices = batch_indices(corpus.num_sequences, batch_size * world, step, seed)
    local = indices[rank * batch_size:(rank + 1) * batch_size]
    ids, starts = corpus.get(local, special)
    # the objective is chosen per global batch so every replica runs the same graph
    kind = "prefix" if np.random.default_rng([seed, step, 7]).random() < prefix_ratio else "mlm"
    rng = np.random.default_rng([seed, step, rank])
    return kind, (prefix_lm_batch(ids, rng) if kind == "prefix" else mlm_batch(ids, starts, special, rng))

