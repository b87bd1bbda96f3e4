"""Work that must not run inside a request: the job handlers and the worker that runs them.

The queue itself (enqueue, claim under a lease, progress, retry with backoff) is the use case
module :mod:`expertloop.services.jobs`; this package runs what it hands out, either in
``expertloop worker`` processes or in a thread of the server (:class:`JobRunner`).
"""

from .handlers import HANDLERS
from .runner import JobRunner

__all__ = ["HANDLERS", "JobRunner"]
