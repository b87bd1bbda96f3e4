"""Talking to models: the OpenAI-compatible chat-completions client (``client.py``).

Nothing here touches the database or the settings; ``services/models.py`` loads endpoints,
calls :func:`complete` outside any transaction and records every call. See
docs/architecture.md, "Models".
"""

from .client import (
    Completion,
    Endpoint,
    Message,
    ModelConfigError,
    ModelError,
    ModelRequestError,
    ModelResponseError,
    ModelUnavailable,
    Usage,
    close_clients,
    complete,
    complete_streaming,
)

__all__ = ["Completion", "Endpoint", "Message", "ModelConfigError", "ModelError", "ModelRequestError",
           "ModelResponseError", "ModelUnavailable", "Usage", "close_clients", "complete", "complete_streaming"]
