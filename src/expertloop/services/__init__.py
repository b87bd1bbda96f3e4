"""Use cases: one function, one transaction. Services own the commit; nothing below commits."""
