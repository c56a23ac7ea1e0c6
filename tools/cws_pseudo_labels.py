"""Segment raw corpus text with a teacher segmenter and write it as a training corpus (one sentence
per line, words separated by spaces): the unlabelled text a smaller student learns the teacher from.

    python tools/cws_pseudo_labels.py --out work_dirs/cws_pseudo/pku.txt \
        --corpus cctv_news:5000000 web_news_inews:2000000 zhwiki_sentences:1000000

Each ``--corpus NAME:CHARS`` takes seeded random lines of ``<data-root>/corpus/NAME.txt.gz``, cut at
sentence punctuation (the segmenter's own chunks, at most 120 characters), until about CHARS characters;
pieces with fewer than ``--min-cjk`` Chinese characters or less than half Chinese are skipped, as is
every piece that occurs in a SIGHAN 2005 test set. The output is written in shards of ``--shard``
sentences (a rerun skips finished shards) and joined atomically at the end.
"""
from __future__ import annotations

import argparse
import gzip
import random
import re
import sys
from pathlib import Path
from typing import Iterator, List, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench.common  # noqa: F401,E402  (the MKL fast path before Paddle runs)

from tqdm import tqdm  # noqa: E402

from roots_zh.data.cws import load_cws_test  # noqa: E402
from roots_zh.pipelines.word_segmentation import WordSegmenter, sentence_chunks  # noqa: E402
from roots_zh.utils.files import atomic_write_text  # noqa: E402

WEIBO_DEV = "train/nlpcc2016_weibo/nlpcc2016-wordseg-dev.dat"  # held out as well
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def corpus_pieces(path: Path, chars: int, seed: int, min_cjk: int, exclude: Set[str]) -> Iterator[str]:
    """Seeded random sentence pieces of one corpus file, about ``chars`` characters in all."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    random.Random(seed).shuffle(lines)
    total = 0
    for line in lines:
        line = line.strip()
        for s, e in sentence_chunks(line, 120):
            piece = line[s:e].strip()
            n_cjk = len(_CJK.findall(piece))
            if n_cjk < min_cjk or 2 * n_cjk < len(piece) or piece in exclude:
                continue
            yield piece
            total += len(piece)
            if total >= chars:
                return


def parse_corpus(spec: str) -> Tuple[str, int]:
    name, _, chars = spec.partition(":")
    if not name or not chars.isdigit():
        raise ValueError(f"--corpus takes NAME:CHARS (e.g. cctv_news:5000000), got {spec!r}")
    return name, int(chars)


def main(argv: List[str] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--corpus", nargs="+", required=True, type=parse_corpus, help="NAME:CHARS")
    p.add_argument("--teacher", default="roots-cws")
    p.add_argument("--standard", default="pku")
    p.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--min-cjk", type=int, default=4)
    p.add_argument("--shard", type=int, default=10000)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)

    exclude = {ex.text for name in ("pku", "msr", "cityu", "as", WEIBO_DEV)
               for ex in load_cws_test(name, args.data_root)[0]}
    pieces = [piece for name, chars in args.corpus
              for piece in corpus_pieces(args.data_root / "corpus" / f"{name}.txt.gz", chars, args.seed,
                                         args.min_cjk, exclude)]
    random.Random(args.seed).shuffle(pieces)
    seg = WordSegmenter.from_pretrained(args.teacher, mode="accurate", standard=args.standard)
    shard_dir = args.out.with_name(args.out.name + ".shards")
    shard_dir.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(pieces), args.shard)
    for k in tqdm(starts, desc=f"segmenting {len(pieces):,} pieces", unit="shard"):
        shard = shard_dir / f"{k // args.shard:05d}.txt"
        if not shard.exists():
            words = seg.predict(pieces[k:k + args.shard])
            atomic_write_text(shard, "".join(" ".join(out["words"]) + "\n" for out in words))
    text = "".join((shard_dir / f"{k // args.shard:05d}.txt").read_text(encoding="utf-8") for k in starts)
    atomic_write_text(args.out, text)
    print(f"{len(pieces):,} sentences, {sum(map(len, pieces)):,} characters -> {args.out}")


if __name__ == "__main__":
    main()
