"""What the engine's networks on numpy's BLAS are tested for in common: one BLAS thread a run."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from threadpoolctl import threadpool_info


@contextmanager
def blas_threads_recorded(owner, attribute: str):
    """Yields a list that gets, each time ``owner.attribute`` runs, the thread count of every
    BLAS library loaded at that moment."""
    seen: list[list[int]] = []
    original = getattr(owner, attribute)

    def recorded(*args, **kwargs):
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(owner, attribute, recorded)
        yield seen


def all_on_one_thread(seen: list[list[int]]) -> bool:
    return bool(seen) and all(threads and threads == [1] * len(threads) for threads in seen)
