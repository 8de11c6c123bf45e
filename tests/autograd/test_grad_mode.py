"""no_grad / enable_grad / set_grad_enabled / inference_mode as context managers and decorators."""
import warnings

import pytest

import ember
from tests.helpers import torch


def _x(T):
    return T.ones(2, requires_grad=True)


@pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])
def test_context_managers_nest(T):
    x = _x(T)
    seen = []
    with T.no_grad():
        seen.append((x * 2).requires_grad)
        with T.enable_grad():
            seen.append((x * 2).requires_grad)
            with T.set_grad_enabled(False):
                seen.append(T.is_grad_enabled())
            seen.append(T.is_grad_enabled())
        seen.append(T.is_grad_enabled())
    seen.append(T.is_grad_enabled())
    assert seen == [False, True, False, True, False, True]


def test_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError
    assert ember.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context():
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled() and not (_x(ember) * 2).requires_grad
    ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()
    assert repr(ember.set_grad_enabled(True)) == "ember.autograd.grad_mode.set_grad_enabled(mode=True)"


@pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])
def test_decorators(T):
    x = _x(T)

    @T.no_grad()
    def called():
        return (x * 2).requires_grad, T.is_grad_enabled()

    @T.no_grad
    def bare():
        return (x * 2).requires_grad

    @T.enable_grad()
    def enabled():
        return (x * 2).requires_grad

    @T.set_grad_enabled(False)
    def disabled():
        return T.is_grad_enabled()

    @T.inference_mode()
    def inference():
        return (x * 2).requires_grad, T.is_inference_mode_enabled()

    @T.inference_mode
    def inference_bare():
        return (x * 2).requires_grad

    assert called() == (False, False)
    assert bare() is False
    with T.no_grad():
        assert enabled() is True
    assert T.is_grad_enabled()  # decorating with set_grad_enabled does not change the mode
    assert disabled() is False and T.is_grad_enabled()
    assert inference() == (False, True)
    assert inference_bare() is False
    assert called.__name__ == "called"


@pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])
def test_decorated_generator_switches_only_inside(T):
    @T.no_grad()
    def gen():
        for _ in range(2):
            received = yield T.is_grad_enabled()
            assert received == "ping"
        return "done"

    it = gen()
    assert next(it) is False
    assert T.is_grad_enabled()
    assert it.send("ping") is False
    with pytest.raises(StopIteration) as stop:
        it.send("ping")
    assert stop.value.value == "done"


def test_decorated_method():
    class Model:
        @ember.no_grad()
        def forward(self, x):
            return x * 2

    assert not Model().forward(_x(ember)).requires_grad


def test_decorating_class_warns():
    with pytest.warns(FutureWarning, match="Decorating classes is deprecated"):
        make = ember.no_grad()(dict)
    assert make(a=1) == {"a": 1}


def test_inference_mode_false_records():
    x = _x(ember)
    with ember.inference_mode(False):
        assert (x * 2).requires_grad
    with ember.inference_mode():
        assert ember.is_inference_mode_enabled() and not (x * 2).requires_grad
    assert not ember.is_inference_mode_enabled()


def test_leaf_created_under_no_grad_still_requires_grad():
    with ember.no_grad():
        x = ember.ones(2, requires_grad=True)
        y = x + 1
    assert x.requires_grad and x.is_leaf and not y.requires_grad and y.grad_fn is None
