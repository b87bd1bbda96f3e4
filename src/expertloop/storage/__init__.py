"""Persistence: engine factory, ORM tables, queries and migrations. Nothing here commits."""
