"""The enforcement journal (portal/audit/journal.py): append-only, hash-chained, and a restore
refuses a journal someone edited."""

import json

import pytest

from portal.audit.journal import JournalBroken, journal_append, journal_entries, journal_head, journal_path


def test_entries_chain_and_an_edited_or_removed_line_breaks_the_chain(settings, tmp_path):
    first = journal_append(kind="image.delete", data={"tenant_id": 1, "sha256": "a" * 64})
    second = journal_append(kind="image.delete", data={"tenant_id": 2, "sha256": "b" * 64})
    assert (second.seq, second.prev) == (2, first.hash) and journal_head() == (2, second.hash)
    assert [e.data["tenant_id"] for e in journal_entries()] == [1, 2]

    lines = journal_path().read_text().splitlines()
    edited = json.loads(lines[0])
    edited["data"]["tenant_id"] = 3
    journal_path().write_text(json.dumps(edited) + "\n" + lines[1] + "\n")
    with pytest.raises(JournalBroken, match="line 1"):
        list(journal_entries())
    journal_path().write_text(lines[1] + "\n")  # the first entry removed
    with pytest.raises(JournalBroken, match="line 1"):
        journal_head()
