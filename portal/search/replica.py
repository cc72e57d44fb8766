"""The vector query on a streaming replica, and what keeps an order effective at once there.

A replica replays the primary's WAL some time after the primary commits it, and may stop
replaying altogether (a paused replay, a long conflict, a broken link). An order's activation, a
face withheld or erased on the primary must nevertheless bind every search from the commit on.
Two rules make the replica's answer safe to use (docs/scaling.md, "Read scaling"):

1. **The replica must have replayed the orders in force the search applies.** The statement
   already tests, in its own snapshot, that `compliance_ordersversion` still holds the version
   of the cached orders (portal/compliance/in_force.py). That row is written in the same
   transaction as every change to the orders (compliance/0010), subject orders' withheld flags
   included, so on a replica the test is true only once the replica has replayed that very
   commit. A replica that has not answers nothing, and the primary answers the search.
2. **The primary has the last word on every face returned.** The replica's candidates are
   checked on the primary, by primary key in one statement: the face still exists, is not
   withheld, is in the galleries the tenant may read (RLS binds this statement too) and no
   exclusion of the same orders covers it; and the orders version on the primary is the cached
   one. If that version moved, an order changed after the cache was read: the orders are read
   again and the replica asked again, under rule 1.

So a lagging replica can only miss faces ingested on the primary since its replay position
(recall, not compliance); it can never return a face that an order, a withholding or an erasure
took out on the primary.
"""

from __future__ import annotations

import logging
from typing import Callable

import psycopg
from django.db import InterfaceError, OperationalError

from portal.gallery.gates import SearchExclusions, search_exclusions
from tenants.context import replica_alias_next, replica_read_scope, scope_connection, tenant_current_or_none
from tenants.models import Tenant

logger = logging.getLogger(__name__)

_CONFIRM_SQL = """
    SELECT ({current}),
           ARRAY(SELECT f.id FROM gallery_face f
                 WHERE f.id = ANY(%s) AND NOT f.withheld AND {gallery} AND {excluded})
"""


def gallery_condition(*, include_platform_index: bool) -> str:
    """The galleries a search reads, over `gallery_face AS f`, with the tenant's id as parameter."""
    return "(f.tenant_id = %s OR f.tenant_id IS NULL)" if include_platform_index else "f.tenant_id = %s"


def replica_nearest(*, tenant: Tenant, include_platform_index: bool,
                    rows_read: Callable[[SearchExclusions], list[tuple]]) -> list[tuple[int, float]] | None:
    """(face id, distance) of the search answered on a replica, nearest first; None when the
    primary must answer: no replica configured, not in this tenant's scope, the replica behind
    the orders in force, unreachable, or the orders changing under every attempt.
    `rows_read(exclusions)` runs the search statement on the scope's connection."""
    alias = replica_alias_next()
    current = tenant_current_or_none()
    if alias is None or current is None or current.pk != tenant.pk:
        return None
    for fresh in (False, True):
        exclusions = search_exclusions(tenant=tenant, include_platform_index=include_platform_index, alias="f",
                                       fresh=fresh)
        try:
            with replica_read_scope(alias=alias):
                rows = rows_read(exclusions)
        # Django's errors for the connection and the statement; psycopg's own for what the
        # pipeline raises as it syncs (a query cancelled by a recovery conflict).
        except (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError) as error:
            logger.warning("The search read on %s failed, the primary answers: %s", alias, error)
            return None
        if not (rows and rows[0][0]):
            return None  # the replica has not replayed the orders in force of the cache (rule 1)
        candidates = [(face_id, distance) for _, face_id, distance in rows if face_id is not None]
        orders_current, shown = _primary_confirm(tenant=tenant, face_ids=[face_id for face_id, _ in candidates],
                                                 include_platform_index=include_platform_index,
                                                 exclusions=exclusions)
        if orders_current:
            return [(face_id, distance) for face_id, distance in candidates if face_id in shown]
    return None


def _primary_confirm(*, tenant: Tenant, face_ids: list[int], include_platform_index: bool,
                     exclusions: SearchExclusions) -> tuple[bool, set[int]]:
    """(the cached orders are still those in force on the primary, the faces of `face_ids` the
    primary still shows this search), in one statement on the primary (rule 2)."""
    sql = _CONFIRM_SQL.format(current=exclusions.current_sql, excluded=exclusions.sql,
                              gallery=gallery_condition(include_platform_index=include_platform_index))
    with scope_connection().cursor() as cursor:
        cursor.execute(sql, [*exclusions.current_params, face_ids, tenant.pk, *exclusions.params])
        orders_current, shown = cursor.fetchone()
    return bool(orders_current), set(shown or ())
