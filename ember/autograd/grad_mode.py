"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator, as in PyTorch. The flag is
process-global (not thread-local like PyTorch's) because ops read it on their
hot path; DataLoader workers are processes, so this is rarely observable.
"""
from __future__ import annotations

import functools
import inspect


class _GradState:
    # Read by every op: `_GradState.enabled` is one attribute lookup.
    enabled = True
    inference = False


def is_grad_enabled() -> bool:
    return _GradState.enabled


def is_inference_mode_enabled() -> bool:
    return _GradState.inference


class _DecoratorContextManager:
    """Base for switches usable as ``with no_grad():`` and ``@no_grad()``."""

    def __call__(self, func):
        if inspect.isclass(func):
            raise RuntimeError("Decorating classes is not supported")
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as exc:  # noqa: BLE001 - forwarded into the generator
                        with self.clone():
                            response = gen.throw(exc)
                    else:
                        with self.clone():
                            response = gen.send(request)
            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_DecoratorContextManager):
    """Disable gradient recording: results of ops have ``requires_grad=False``."""

    def __init__(self) -> None:
        self.prev = False

    def __enter__(self) -> None:
        self.prev = _GradState.enabled
        _GradState.enabled = False

    def __exit__(self, *exc) -> None:
        _GradState.enabled = self.prev


class enable_grad(_DecoratorContextManager):
    """Enable gradient recording inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self.prev = _GradState.enabled
        _GradState.enabled = True

    def __exit__(self, *exc) -> None:
        _GradState.enabled = self.prev


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode on or off; takes effect immediately, and as a context manager restores it."""

    def __init__(self, mode: bool) -> None:
        self.prev = _GradState.enabled
        self.mode = bool(mode)
        _GradState.enabled = self.mode

    def __enter__(self) -> None:
        _GradState.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _GradState.enabled = self.prev

    def clone(self):
        return self.__class__(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad`` (ember keeps no extra inference-only tensor state)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __enter__(self) -> None:
        self.prev = (_GradState.enabled, _GradState.inference)
        if self.mode:
            _GradState.enabled = False
            _GradState.inference = True

    def __exit__(self, *exc) -> None:
        _GradState.enabled, _GradState.inference = self.prev

    def clone(self):
        return self.__class__(self.mode)
