"""The embedded PostgreSQL's memory settings, sized from the machine it runs on.

PostgreSQL's defaults (shared_buffers 128 MB) leave a million-face HNSW graph on disk: cold queries
read hundreds of pages each. The usual rules of thumb, from the machine's memory and cores:

  shared_buffers                    a quarter of the memory (128 MB to 32 GB)
  effective_cache_size              three quarters (what the planner may count on being cached)
  maintenance_work_mem              a quarter (64 MB to 16 GB): an HNSW build that fits in it
                                    builds in memory, many times faster than one that spills
  max_parallel_maintenance_workers  the cores but one (0 to 8), for index builds

`EMBEDDED_PG_MEMORY` (e.g. "4GB") overrides the memory the settings are sized from, for a machine
shared with other servers; the settings apply when the server (re)starts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_MB = 1024 * 1024
_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": _MB, "GB": 1024 * _MB, "TB": 1024 * 1024 * _MB}


def memory_parse(text: str) -> int:
    """Bytes from "4GB", "512MB", "1073741824"; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?B?)\s*", text.upper())
    if match is None or (match.group(2) and match.group(2) not in _UNITS):
        raise ValueError(f"EMBEDDED_PG_MEMORY={text!r} is not a size such as 4GB or 512MB.")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def machine_memory() -> int:
    """The machine's memory, or the container's limit when that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")):
        try:
            limit = limit_file.read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
    return total


def server_memory_settings(*, memory: int | None = None, cores: int | None = None) -> dict[str, str]:
    """The settings for a server with `memory` bytes and `cores` cores (default: this machine's)."""
    memory = machine_memory() if memory is None else memory
    cores = (os.cpu_count() or 1) if cores is None else cores
    return {
        "shared_buffers": _megabytes(_clamp(memory // 4, 128 * _MB, 32 * 1024 * _MB)),
        "effective_cache_size": _megabytes(max(memory * 3 // 4, 128 * _MB)),
        "maintenance_work_mem": _megabytes(_clamp(memory // 4, 64 * _MB, 16 * 1024 * _MB)),
        "max_parallel_maintenance_workers": str(_clamp(cores - 1, 0, 8)),
    }


def server_memory_options(*, override: str = "") -> list[str]:
    """`-c name=value` options for the server's command line, sized from `override` when given."""
    memory = memory_parse(override) if override else None
    return [f"-c {name}={value}" for name, value in server_memory_settings(memory=memory).items()]


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def _megabytes(value: int) -> str:
    return f"{value // _MB}MB"
