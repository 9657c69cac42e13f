"""Django's PostgreSQL backend, binding parameters on the server so that statements are prepared.

With ``server_side_binding`` (``PREPARED_STATEMENTS``, in the settings) psycopg sends a query
and its values apart, and prepares a statement that a connection runs again: PostgreSQL then
neither parses nor plans it again (the claim list's seven-table join took about 2 ms to plan
and 0.4 ms to run). psycopg deallocates every prepared statement of a connection on any
rollback, savepoints' included: on a hot path, leave a transaction that wrote nothing by
commit (``claim_submit`` does for a refused claim). The protocol carries at most 65,535 values a
statement, where Django's default, which writes the values into the SQL, has no limit: a
statement with more (a large bulk insert, a long ``__in`` list) is bound on the client here,
as Django's default cursor binds it.
"""

from __future__ import annotations

import psycopg
from django.db.backends.postgresql import base

# The extended query protocol's Bind message counts its parameters in 16 bits.
MAX_BOUND_PARAMETERS = 65535


def _bindable(connection, query, params):
    """The query and its values as the server can bind them: past the limit, the values are
    written into the SQL (escaped by psycopg, as Django's default cursor writes them)."""
    if params is not None and len(params) > MAX_BOUND_PARAMETERS:
        return psycopg.ClientCursor(connection).mogrify(query, params), None
    return query, params


class ServerBindingCursor(base.ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        query, params = _bindable(self.connection, query, params)
        return super().execute(query, params, prepare=prepare, binary=binary)


class NamedCursor(psycopg.ServerCursor):
    """The cursor of ``QuerySet.iterator()`` (DECLARE ... CURSOR), with the same limit."""

    def execute(self, query, params=None, *, binary=None, **kwargs):
        query, params = _bindable(self.connection, query, params)
        return super().execute(query, params, binary=binary, **kwargs)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("cursor_factory") is base.ServerBindingCursor:
            params["cursor_factory"] = ServerBindingCursor
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if conn_params.get("cursor_factory") is ServerBindingCursor:
            connection.server_cursor_factory = NamedCursor
        return connection
