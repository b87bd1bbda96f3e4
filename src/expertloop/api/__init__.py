"""The REST API (FastAPI): parse, authorize, call one service, render."""
