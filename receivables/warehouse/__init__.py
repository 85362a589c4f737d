"""The warehouse: the reporting tables a run writes, on SQLite by default or PostgreSQL."""

from receivables.warehouse.database import connect, migrate, replace_for_as_of

__all__ = ["connect", "migrate", "replace_for_as_of"]
