"""bench_search's FAISS reference (--compare-faiss): what a team would pick instead of the
database, an in-memory HNSW graph per gallery (faiss-cpu's IndexHNSWFlat, inner product over
unit vectors, so cosine), built with the project's m and ef_construction and searched with its
ef_search. A search over the tenant and the platform index asks both graphs and merges, as the
numpy reference does, so both references see exactly the rows the project's search may see.

faiss-cpu is pinned in requirements.txt for this benchmark only; nothing in the portal imports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


def merged_nearest(found_ids: list[np.ndarray], found_scores: list[np.ndarray], *, k: int) -> list[int]:
    """The k best of several galleries' answers: highest similarity first, the lower id on a tie
    (the database's order)."""
    if not found_ids:
        return []
    ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
    return [int(ids[i]) for i in np.lexsort((ids, -scores))[:k]]


@dataclass
class FaissGalleries:
    """One FAISS HNSW graph per gallery, over the same visible rows as InMemoryGalleries."""

    ids: dict[int, np.ndarray]
    graphs: dict[int, object]
    build_seconds: float

    @classmethod
    def build(cls, *, ids: dict[int, np.ndarray], vectors: dict[int, np.ndarray], m: int, ef_construction: int,
              ef_search: int) -> FaissGalleries:
        import faiss

        graphs = {}
        started = time.perf_counter()
        for gallery, matrix in vectors.items():
            graph = faiss.IndexHNSWFlat(matrix.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = ef_construction
            graph.add(matrix)  # the build uses every core, as a team building it offline would
            graph.hnsw.efSearch = ef_search
            graphs[gallery] = graph
        built = time.perf_counter() - started
        # One query, one thread: like the database's statement, which a single backend runs.
        faiss.omp_set_num_threads(1)
        return cls(ids=ids, graphs=graphs, build_seconds=round(built, 1))

    def nearest(self, *, galleries: list[int], embedding: np.ndarray, k: int) -> list[int]:
        probe = np.asarray(embedding, dtype=np.float32)
        probe = (probe / np.linalg.norm(probe)).reshape(1, -1)
        found_ids, found_scores = [], []
        for gallery in galleries:
            graph = self.graphs.get(gallery)
            if graph is None:
                continue
            scores, positions = graph.search(probe, k)
            kept = positions[0] >= 0
            found_ids.append(self.ids[gallery][positions[0][kept]])
            found_scores.append(scores[0][kept])
        return merged_nearest(found_ids, found_scores, k=k)

    def bytes(self) -> int:
        """The graphs' size as FAISS would write them (vectors and links)."""
        import faiss

        return sum(len(faiss.serialize_index(graph)) for graph in self.graphs.values())
