"""Per-character entity slots for the fusion layer: link names with an :class:`EntityLinker` whose
payloads are entity ids, then give each character of a mention ``[entity id, type ids…]``."""
from __future__ import annotations

from typing import Dict, List, Sequence

from .linker import EntityLinker


class EntityAnnotator:
    """``slots(text) -> [len(text), K]`` int ids (0 = none).

    ``linker``: payloads are entity ids (>= 1). ``entity_types``: ``{entity id: [type names]}``.
    ``type_ids``: ``{"<type>/B": id, "<type>/I": id}`` — a type id says both the type and whether the
    character begins the mention. Slot layout: ``[entity, type 1, …, type K-1]``.
    """

    def __init__(self, linker: EntityLinker, entity_types: Dict[int, Sequence[str]],
                 type_ids: Dict[str, int], k: int = 3) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"`k` must be a positive int, got {k!r}")
        self.linker, self.entity_types, self.type_ids, self.k = linker, entity_types, type_ids, k

    def slots(self, text: str) -> List[List[int]]:
        out = [[0] * self.k for _ in text]
        for m in self.linker.find(text):
            entity = int(m.entities[0])
            types = []
            for e in m.entities:  # a name may be several entities: pool their types
                types += [t for t in self.entity_types.get(int(e), ()) if t not in types]
            for pos in range(m.start, m.end):
                marker = "B" if pos == m.start else "I"
                ids = [self.type_ids[f"{t}/{marker}"] for t in types if f"{t}/{marker}" in self.type_ids]
                row = [entity] + ids
                out[pos] = (row + [0] * self.k)[: self.k]
        return out
