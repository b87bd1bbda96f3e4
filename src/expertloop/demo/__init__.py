"""The demo programme: a small real expert-data programme built from TruthfulQA."""

from .seed import DEMO_MARKER, demo_tokens, is_empty, is_seeded, seed_demo, signin_hints

__all__ = ["DEMO_MARKER", "demo_tokens", "is_empty", "is_seeded", "seed_demo", "signin_hints"]
