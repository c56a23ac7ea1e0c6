"""Name dictionaries and evaluation sets from the shared ``kg/`` folder: entity names (with their
disambiguation suffix removed) for the linker, and the CN-DBpedia short-text entity-linking set."""
from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple, Union

from ..metrics.spans import mention_prf  # noqa: F401 - re-exported (its home is roots_zh.metrics)
from .graph import ReadReport, read_id_names

PathLike = Union[str, os.PathLike]
_SUFFIX = re.compile(r"\s*(（[^（）]*）|\([^()]*\)|_\([^()]*\))$")


def strip_disambiguation(name: str) -> str:
    """``李娜（中国女子网球名将）`` → ``李娜``; ``民族陣線_(法國)`` → ``民族陣線``; DBpedia ``_`` → space."""
    base = _SUFFIX.sub("", name.strip())
    return (base or name.strip()).replace("_", " ") if "_" in base else (base or name.strip())


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def dictionary_names(kg_dir: PathLike, sources: Iterable[str] = ("dbp15k", "kgclue", "nlpcc", "medical"),
                     ) -> Dict[str, Set[str]]:
    """``{source: names}`` for the linker. Sources: ``dbp15k`` (ZH entity titles), ``kgclue`` and
    ``nlpcc`` (subjects and objects of the gold QA triples, all splits), ``medical`` (xywy entities),
    ``medical_spo`` (K-BERT Medical.spo terms). Suffixes are stripped; the EL test set is never read."""
    kg_dir = Path(kg_dir)
    out: Dict[str, Set[str]] = {}
    for source in sources:
        names: Set[str] = set()
        if source == "dbp15k":
            ents, _ = read_id_names(kg_dir / "dbp15k_zh_en" / "ent_ids_1.gz")
            names = {strip_disambiguation(n) for n in ents.values()}
        elif source == "kgclue":
            for split in ("train.json.gz", "dev.json", "test_public.json"):
                with _open(kg_dir / "kgclue" / split) as fh:
                    for line in fh:
                        parts = json.loads(line).get("answer", "").split(" ||| ")
                        if len(parts) == 3:
                            names.update({strip_disambiguation(parts[0]), parts[2].strip()})
        elif source == "nlpcc":
            for split in ("training", "testing"):
                with _open(kg_dir / "nlpcc2016_kbqa" / f"nlpcc-iccpol-2016.kbqa.{split}-data.gz") as fh:
                    for line in fh:
                        if line.startswith("<triple"):
                            parts = line.split("\t", 1)[-1].strip().split(" ||| ")
                            if len(parts) == 3:
                                names.update({parts[0].strip(), parts[2].strip()})
        elif source == "medical":
            with _open(kg_dir / "medical_kg_xywy" / "entities.tsv.gz") as fh:
                names = {line.split("\t")[0].strip() for line in fh}
        elif source == "medical_spo":
            with _open(kg_dir / "kbert" / "kgs" / "Medical.spo") as fh:
                names = {line.split("\t")[0].strip() for line in fh if line.count("\t") == 2}
        else:
            raise ValueError(f"unknown dictionary source {source!r}; choose dbp15k, kgclue, nlpcc, medical, "
                             "medical_spo")
        out[source] = {n for n in names if n}
    return out


def read_cndbpedia_el(path: PathLike) -> Tuple[List[Tuple[str, List[str], List[str]]], ReadReport]:
    """``(text, mentions, entities)`` rows of ``cndbpedia_el/test.txt``; malformed lines are skipped."""
    path = Path(path)
    report, rows = ReadReport(str(path)), []
    with _open(path) as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 3 or not parts[0]:
                report.skip(line_no, f"expected text<TAB>mentions<TAB>entities, got {line[:60]!r}")
                continue
            mentions, entities = parts[1].split("|||"), parts[2].split("|||")
            if len(mentions) != len(entities):
                report.skip(line_no, "mention and entity counts differ")
                continue
            rows.append((parts[0], mentions, entities))
            report.read += 1
    report.log()
    return rows, report
