"""A cursor that sends its parameters apart from the SQL text, for the similarity query.

Django's psycopg cursors bind on the client: every parameter is spelled into the SQL as a
literal, so a 128-dimension embedding travels as some 2 kB of decimal text that the server then
parses. This cursor binds on the server (psycopg's plain `Cursor`), so pgvector's adapter, which
registers its binary dumper last, sends the vector as 516 bytes of binary. It is wrapped like
Django's own cursors, so query counting, execute wrappers and database-error translation see it.
Statements are never prepared (Django's `prepare_threshold` of None), so the planner still sees
each search's own tenant and chooses the index for its size.
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg


@contextmanager
def server_bound_cursor(connection):
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    cursor = connection._prepare_cursor(raw)
    try:
        yield cursor
    finally:
        raw.close()
