"""The ``expertloop`` command line (Typer)."""
