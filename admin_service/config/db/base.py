"""PostgreSQL backend that knows our tables live in schemas (``admin``, ``cidades``).

Models name their tables ``'admin"."users'`` so they land in a schema without touching
``search_path``. Stock introspection lists only tables visible on the search path, so
``flush`` (used between ``TransactionTestCase`` tests and by ``manage.py flush``) would
skip these tables and then fail truncating ``auth_permission``, which a table in
``admin`` references. Listing schema tables under the same quoted names the models use
makes flush, ``table_names()`` and friends see them.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, introspection

DJANGO_SCHEMAS = ("admin", "cidades")


class DatabaseIntrospection(introspection.DatabaseIntrospection):
    def get_table_list(self, cursor: Any) -> list[Any]:
        tables = list(super().get_table_list(cursor))
        cursor.execute(
            """
            SELECT
                n.nspname || '"."' || c.relname,
                CASE
                    WHEN c.relispartition THEN 'p'
                    WHEN c.relkind IN ('m', 'v') THEN 'v'
                    ELSE 't'
                END,
                obj_description(c.oid, 'pg_class')
            FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v')
                AND n.nspname = ANY(%s)
                AND NOT c.relispartition
            """,
            [list(DJANGO_SCHEMAS)],
        )
        tables.extend(introspection.TableInfo(*row) for row in cursor.fetchall())
        return tables


class DatabaseWrapper(base.DatabaseWrapper):
    introspection_class = DatabaseIntrospection
