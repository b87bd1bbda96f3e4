"""Pure rules of the product: no framework, no database, no I/O."""
