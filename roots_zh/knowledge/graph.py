"""Triples, vocabularies and `KnowledgeGraph` (neighbour lookup) for the graph formats in
``../shared/data/kg``: plain ``head<TAB>relation<TAB>tail`` TSV (medical_kg_xywy, K-BERT ``*.spo``) and
DBP15K's id-encoded triples with names in ``ent_ids_*``/``rel_ids_*``.

Readers never crash on one bad line: it is skipped and counted in a :class:`ReadReport`.
"""
from __future__ import annotations

import gzip
import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import unquote

import numpy as np

from ..utils.read_report import ReadReport

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]
Triple = Tuple[str, str, str]


def _open_text(path: PathLike):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"graph file {path} not found")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    with _open_text(path) as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield line_no, line


def read_triples_tsv(path: PathLike, dedupe: bool = True) -> Tuple[List[Triple], ReadReport]:
    """``head<TAB>relation<TAB>tail`` lines (``.gz`` ok); fields are stripped, empty ones rejected."""
    report, triples, seen = ReadReport(str(path)), [], set()
    for line_no, line in _lines(path):
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != 3:
            report.skip(line_no, f"expected 3 tab-separated fields, got {len(parts)}: {line[:60]!r}")
            continue
        if not all(parts):
            report.skip(line_no, f"empty field in {line[:60]!r}")
            continue
        _keep((parts[0], parts[1], parts[2]), triples, seen if dedupe else None, report)
    report.log()
    return triples, report


def _keep(triple: Triple, triples: List[Triple], seen: Optional[set], report: ReadReport) -> None:
    """Append ``triple`` unless ``seen`` (when given) already holds it: then count a duplicate."""
    if seen is not None:
        if triple in seen:
            report.duplicates += 1
            return
        seen.add(triple)
    triples.append(triple)
    report.read += 1


def read_id_names(path: PathLike, strip_prefix: bool = True) -> Tuple[Dict[int, str], ReadReport]:
    """DBP15K ``id<TAB>uri`` files → ``{id: name}``; the name is the URI after ``/resource/`` or
    ``/property/`` (it may hold ``/``), percent-decoded (``http://zh.dbpedia.org/resource/金大中`` → ``金大中``)."""
    report, names = ReadReport(str(path)), {}
    for line_no, line in _lines(path):
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip().isdigit() or not parts[1].strip():
            report.skip(line_no, f"expected `id<TAB>uri`, got {line[:60]!r}")
            continue
        uri = parts[1].strip()
        name = uri
        if strip_prefix:
            for marker in ("/resource/", "/property/"):
                if marker in uri:
                    name = unquote(uri.split(marker, 1)[1])
                    break
        names[int(parts[0])] = name
        report.read += 1
    report.log()
    return names, report


def read_id_triples(path: PathLike, entity_names: Dict[int, str], relation_names: Dict[int, str],
                    ) -> Tuple[List[Triple], ReadReport]:
    """DBP15K ``head_id<TAB>rel_id<TAB>tail_id`` lines, mapped to names; unknown ids are skipped."""
    report, triples, seen = ReadReport(str(path)), [], set()
    for line_no, line in _lines(path):
        parts = line.split("\t")
        try:
            h, r, t = (int(p) for p in parts)
        except ValueError:
            report.skip(line_no, f"expected 3 integer ids, got {line[:60]!r}")
            continue
        if h not in entity_names or t not in entity_names or r not in relation_names:
            report.skip(line_no, f"id not in the name files: {line[:60]!r}")
            continue
        _keep((entity_names[h], relation_names[r], entity_names[t]), triples, seen, report)
    report.log()
    return triples, report


class Vocab:
    """String ↔ contiguous id. ``reserve_padding`` keeps id 0 for "no entity" (``"<pad>"``)."""

    PAD = "<pad>"

    def __init__(self, names: Iterable[str] = (), reserve_padding: bool = False) -> None:
        self._itos: List[str] = []
        self._stoi: Dict[str, int] = {}
        self.padded = reserve_padding
        if reserve_padding:
            self.add(self.PAD)
        for name in names:
            self.add(name)

    def add(self, name: str) -> int:
        if not isinstance(name, str):
            raise TypeError(f"vocabulary entries must be str, got {type(name).__name__}")
        idx = self._stoi.get(name)
        if idx is None:
            idx = self._stoi[name] = len(self._itos)
            self._itos.append(name)
        return idx

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, name: object) -> bool:
        return name in self._stoi

    def __getitem__(self, name: str) -> int:
        try:
            return self._stoi[name]
        except KeyError:
            raise KeyError(f"{name!r} is not in the vocabulary ({len(self)} entries)") from None

    def get(self, name: str, default: Optional[int] = None) -> Optional[int]:
        return self._stoi.get(name, default)

    def name(self, idx: int) -> str:
        return self._itos[idx]

    @property
    def names(self) -> List[str]:
        return list(self._itos)


class KnowledgeGraph:
    """A multi-relational graph: entity/relation vocabularies, an int ``[N, 3]`` triple array
    (head, relation, tail ids) and neighbour lookup in both directions."""

    def __init__(self, triples: Sequence[Triple], entities: Optional[Vocab] = None,
                 relations: Optional[Vocab] = None) -> None:
        self.entities = entities if entities is not None else Vocab()
        self.relations = relations if relations is not None else Vocab()
        rows = []
        for i, triple in enumerate(triples):
            if len(triple) != 3:
                raise ValueError(f"`triples[{i}]` must be (head, relation, tail), got {triple!r}")
            h, r, t = triple
            rows.append((self.entities.add(h), self.relations.add(r), self.entities.add(t)))
        self.triples = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        self._out: Dict[int, List[Tuple[int, int]]] = defaultdict(list)
        self._in: Dict[int, List[Tuple[int, int]]] = defaultdict(list)
        for h, r, t in self.triples.tolist():
            self._out[h].append((r, t))
            self._in[t].append((r, h))

    @classmethod
    def from_tsv(cls, path: PathLike) -> Tuple["KnowledgeGraph", ReadReport]:
        triples, report = read_triples_tsv(path)
        return cls(triples), report

    @classmethod
    def from_dbp15k(cls, directory: PathLike, side: int = 1) -> Tuple["KnowledgeGraph", ReadReport]:
        """One side (1 = ZH, 2 = EN) of a DBP15K folder: ``ent_ids_{side}``, ``rel_ids_{side}``,
        ``triples_{side}`` (each optionally ``.gz``)."""
        if side not in (1, 2):
            raise ValueError(f"`side` must be 1 or 2, got {side!r}")
        directory = Path(directory)

        def find(stem: str) -> Path:
            for name in (stem, stem + ".gz"):
                if (directory / name).is_file():
                    return directory / name
            raise FileNotFoundError(f"neither {stem} nor {stem}.gz in {directory}")

        ents, _ = read_id_names(find(f"ent_ids_{side}"))
        rels, _ = read_id_names(find(f"rel_ids_{side}"))
        triples, report = read_id_triples(find(f"triples_{side}"), ents, rels)
        return cls(triples), report

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    def __len__(self) -> int:
        return len(self.triples)

    def _id(self, entity: Union[str, int]) -> int:
        if isinstance(entity, str):
            return self.entities[entity]
        if isinstance(entity, (int, np.integer)) and 0 <= entity < self.num_entities:
            return int(entity)
        raise ValueError(f"`entity` must be a name or an id in [0, {self.num_entities}), got {entity!r}")

    def neighbors(self, entity: Union[str, int], direction: str = "both",
                  relation: Optional[str] = None) -> List[Tuple[str, str]]:
        """``(relation, neighbour)`` name pairs; ``direction`` is ``"out"``, ``"in"`` or ``"both"``."""
        if direction not in ("out", "in", "both"):
            raise ValueError(f"`direction`={direction!r} is not valid; choose 'out', 'in' or 'both'")
        idx = self._id(entity)
        pairs = (self._out.get(idx, []) if direction != "in" else []) + \
                (self._in.get(idx, []) if direction != "out" else [])
        out = [(self.relations.name(r), self.entities.name(n)) for r, n in pairs]
        return [p for p in out if relation is None or p[0] == relation]

    def neighbor_ids(self, entity_id: int, limit: Optional[int] = None) -> List[int]:
        """Distinct neighbour ids (out then in), at most ``limit``."""
        seen, out = {entity_id}, []
        for _, n in self._out.get(entity_id, []) + self._in.get(entity_id, []):
            if n not in seen:
                seen.add(n)
                out.append(n)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def degree(self, entity: Union[str, int]) -> int:
        idx = self._id(entity)
        return len(self._out.get(idx, [])) + len(self._in.get(idx, []))
