"""Aggregation pushed down to Athena: the SQL, the queries' conversation, the load of their edge rows."""
