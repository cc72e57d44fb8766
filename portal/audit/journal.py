"""The enforcement journal: every order put in force, every picture a tenant deleted and every
opt-out, written to a file kept apart from the database and the media folder, so that a restore
of a backup taken before them can apply them again (portal/core/restores.py).

One JSON object a line, append-only and hash-chained like the audit chain: each line carries the
previous line's hash and its own, sha256(prev || canonical JSON of the entry), so a line removed,
changed or reordered breaks the chain and restore refuses to run on it. A line is written and
fsync'd inside the transaction that makes the change, before its commit: a change that then
rolls back leaves a line that restore applies to a database that never had it, which can only
delete more, never less. Applying a line twice changes nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

GENESIS = "0" * 64
FILE_NAME = "journal.jsonl"


class JournalBroken(Exception):
    """A line of the journal does not chain to the one before it."""


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    at: str
    kind: str
    data: dict[str, Any]
    prev: str
    hash: str


def journal_path() -> Path:
    return Path(settings.ENFORCEMENT_JOURNAL_DIR) / FILE_NAME


def _canonical(*, seq: int, at: str, kind: str, data: dict, prev: str) -> str:
    return json.dumps({"seq": seq, "at": at, "kind": kind, "data": data, "prev": prev},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _last_line(handle) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    block, tail = 4096, b""
    while size > 0 and tail.count(b"\n") < 2:
        step = min(block, size)
        size -= step
        handle.seek(size)
        tail = handle.read(step) + tail
    lines = [line for line in tail.splitlines() if line.strip()]
    return lines[-1].decode() if lines else ""


def journal_append(*, kind: str, data: dict[str, Any]) -> JournalEntry:
    """Appends one entry (under an exclusive lock, fsync'd) and returns it."""
    path = journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            last = _last_line(handle)
            previous = json.loads(last) if last else {"seq": 0, "hash": GENESIS}
            seq, at = previous["seq"] + 1, timezone.now().isoformat()
            canonical = _canonical(seq=seq, at=at, kind=kind, data=data, prev=previous["hash"])
            digest = hashlib.sha256((previous["hash"] + canonical).encode()).hexdigest()
            entry = JournalEntry(seq=seq, at=at, kind=kind, data=data, prev=previous["hash"], hash=digest)
            handle.seek(0, os.SEEK_END)
            handle.write((json.dumps(entry.__dict__, sort_keys=True, separators=(",", ":")) + "\n").encode())
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return entry


def journal_entries() -> Iterator[JournalEntry]:
    """Every entry in order, each checked against the one before; JournalBroken at the first bad one."""
    path = journal_path()
    if not path.exists():
        return
    prev, expected_seq = GENESIS, 1
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                fields = json.loads(raw)
                entry = JournalEntry(**fields)
            except (ValueError, TypeError) as error:
                raise JournalBroken(f"{path}, line {number}: not a journal entry ({error}).") from None
            canonical = _canonical(seq=entry.seq, at=entry.at, kind=entry.kind, data=entry.data, prev=entry.prev)
            if entry.seq != expected_seq or entry.prev != prev or \
                    hashlib.sha256((prev + canonical).encode()).hexdigest() != entry.hash:
                raise JournalBroken(f"{path}, line {number}: entry {entry.seq} does not chain to the one before.")
            yield entry
            prev, expected_seq = entry.hash, entry.seq + 1


def journal_head() -> tuple[int, str]:
    """(seq, hash) of the last entry, checking the whole chain on the way."""
    seq, digest = 0, GENESIS
    for entry in journal_entries():
        seq, digest = entry.seq, entry.hash
    return seq, digest
