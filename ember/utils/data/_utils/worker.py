"""The DataLoader worker process: read index batches from a queue, send collated batches back."""
from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember
from .fetch import make_fetcher

# how often a waiting process wakes up to check that the process on the other end is alive (seconds)
STATUS_CHECK_INTERVAL = 1.0

_worker_info: "WorkerInfo | None" = None


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: its id, the worker count, its seed, its dataset copy."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The current DataLoader worker's ``WorkerInfo``; None in the main process (PyTorch's)."""
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as its type and formatted traceback."""

    def __init__(self, where: str) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_name = exc_type.__name__
        self.exc_type = exc_type if _picklable(exc_type) else RuntimeError  # e.g. a class defined in a function
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where

    def reraise(self) -> None:
        """Raise the original exception type, its message prefixed by where it was caught (as PyTorch does)."""
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # exception types whose constructor wants other arguments
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:
            # break the frame -> exception -> traceback -> frame cycle, which would keep the
            # DataLoader iterator (and its worker processes) alive until a garbage collection
            del exception


def _picklable(obj) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


def send(data_queue, task_id, data, where: str) -> None:
    """Put ``(task_id, data)`` on the result queue, pickled here so that a batch that cannot be
    pickled becomes an error for the main process instead of being lost in the queue's feeder thread."""
    try:
        payload = pickle.dumps((task_id, data), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        payload = pickle.dumps((task_id, ExceptionWrapper(where)), protocol=pickle.HIGHEST_PROTOCOL)
    data_queue.put(payload)


def receive(payload):
    """The ``(task_id, data)`` a worker sent with ``send``."""
    return pickle.loads(payload)


class _KeyErrorMessage(str):
    """KeyError shows repr() of its argument; this keeps the traceback readable."""

    def __repr__(self) -> str:
        return self


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """Sent by a worker whose copy of an iterable dataset is exhausted."""

    worker_id: int


class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; echoed back once they are ready."""


def _numpy_seed(base_seed: int, worker_id: int) -> np.ndarray:
    # NumPy's legacy seed takes 32-bit words: mix the 64-bit base seed and the worker id
    words = [worker_id, base_seed & 0xFFFF_FFFF, base_seed >> 32]
    return np.random.SeedSequence(words).generate_state(4)


def _seed_worker(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    random.seed(seed)
    ember.manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


def worker_loop(is_iterable: bool, dataset, index_queue, data_queue, done_event, auto_collation: bool,
                collate_fn, drop_last: bool, base_seed: int, init_fn, worker_id: int, num_workers: int) -> None:
    """Body of one worker process: answer each ``(task_id, index)`` with ``(task_id, batch or error)``."""
    global _worker_info
    parent_pid = os.getppid()
    seed = _seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    fetcher = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
    except Exception:
        init_error = ExceptionWrapper(where)
    iteration_end = False
    try:
        while True:
            try:
                task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process died: nobody will read our results
                    break
                continue
            if task is None:  # shutdown
                break
            if isinstance(task, _ResumeIteration):
                send(data_queue, task, None, where)
                iteration_end = False
                if init_error is None:
                    fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if done_event.is_set() or iteration_end:
                continue  # shutting down, or nothing left to read: these tasks get no answer
            task_id, index = task
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not is_iterable:
                        data = ExceptionWrapper(where)
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    data = ExceptionWrapper(where)
            send(data_queue, task_id, data, where)
            del data
    except KeyboardInterrupt:
        pass  # the main process sees the interrupt too and shuts the pool down
    if done_event.is_set():
        # results nobody will read must not keep this process alive at exit
        data_queue.cancel_join_thread()
        data_queue.close()
