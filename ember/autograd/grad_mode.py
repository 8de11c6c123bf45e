"""Grad-mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator (also on generator functions),
as in PyTorch. The flag is process-global (not thread-local like PyTorch's)
because ops read it on their hot path; DataLoader workers are processes, so this
is rarely observable.
"""
from __future__ import annotations

import functools
import inspect
import warnings


class _GradState:
    # Read by every op: `_GradState.enabled` is one attribute lookup.
    enabled = True
    inference = False


def is_grad_enabled() -> bool:
    """Whether ops record a graph now (``torch.is_grad_enabled``)."""
    return _GradState.enabled


def is_inference_mode_enabled() -> bool:
    return _GradState.inference


class _DecoratorContextManager:
    """Base for switches usable as ``with no_grad():`` and ``@no_grad()``."""

    def __call__(self, func):
        if inspect.isclass(func):
            warnings.warn("Decorating classes is deprecated and will be disabled in future versions. You should "
                          "only decorate functions or methods. To preserve the current behavior of class "
                          "decoration, you can directly decorate the `__init__` method and nothing else.",
                          FutureWarning, stacklevel=2)
            return lambda *args, **kwargs: self._construct_under(func, args, kwargs)
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def _construct_under(self, cls, args, kwargs):
        with self.clone():
            return cls(*args, **kwargs)

    def _wrap_generator(self, func):
        """Each step of the generator runs under the mode; the caller's mode is left alone in between."""
        @functools.wraps(func)
        def gen_wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
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
            except StopIteration as stop:
                return stop.value
        return gen_wrapper

    def clone(self):
        return self.__class__()


class _NoParamDecoratorContextManager(_DecoratorContextManager):
    """Also usable as a bare decorator: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):
    """Disable gradient recording: results of ops have ``requires_grad=False`` (``torch.no_grad``)."""

    def __init__(self) -> None:
        self.prev = False

    def __enter__(self) -> None:
        self.prev = _GradState.enabled
        _GradState.enabled = False

    def __exit__(self, *exc) -> None:
        _GradState.enabled = self.prev


class enable_grad(_NoParamDecoratorContextManager):
    """Enable gradient recording inside a ``no_grad`` block (``torch.enable_grad``)."""

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

    def __call__(self, func):
        _GradState.enabled = self.prev  # used as a decorator: only the decorated calls change the mode
        return super().__call__(func)

    def __enter__(self) -> None:
        _GradState.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _GradState.enabled = self.prev

    def clone(self):
        return self.__class__(self.mode)

    def __repr__(self) -> str:
        return f"ember.autograd.grad_mode.set_grad_enabled(mode={self.mode})"


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad`` (``torch.inference_mode``); ember keeps no extra inference-only tensor state."""

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
