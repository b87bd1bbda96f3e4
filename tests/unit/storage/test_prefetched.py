"""``prefetched``: a cursor's batches fetched by a thread while the caller works on the one
before — in order, errors raised to the caller, and nothing left running once it stops."""

from __future__ import annotations

import threading
import time

import pytest

from expertloop.storage.repositories import prefetched


def _threads() -> int:
    return sum(t.name == "expertloop-prefetch" for t in threading.enumerate())


def test_batches_come_in_order_and_the_thread_ends_with_them():
    before = _threads()
    assert list(prefetched(iter([[1, 2], [3], [], [4, 5]]))) == [[1, 2], [3], [], [4, 5]]
    assert _threads() == before


def test_the_next_batch_is_fetched_while_the_caller_works_on_this_one():
    fetched: list[int] = []

    def source():
        for n in range(3):
            fetched.append(n)
            yield [n]

    batches = prefetched(source())
    assert next(batches) == [0]
    deadline = time.monotonic() + 5
    while len(fetched) < 2 and time.monotonic() < deadline:  # fetched without being asked for
        time.sleep(0.01)
    assert fetched[:2] == [0, 1]
    assert list(batches) == [[1], [2]]


def test_an_error_in_the_fetching_thread_is_raised_to_the_caller():
    def source():
        yield [1]
        raise RuntimeError("cursor lost")

    batches = prefetched(source())
    assert next(batches) == [1]
    with pytest.raises(RuntimeError, match="cursor lost"):
        next(batches)


def test_a_caller_that_stops_early_stops_the_thread_and_the_fetching():
    fetched: list[int] = []

    def source():
        for n in range(1_000_000):
            fetched.append(n)
            yield [n]

    before = _threads()
    batches = prefetched(source())
    assert next(batches) == [0]
    batches.close()  # what a client that disconnects mid-export does
    assert _threads() == before
    assert len(fetched) <= 3  # the batch in hand, the one queued, the one being put
