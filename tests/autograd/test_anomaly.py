"""detect_anomaly / set_detect_anomaly: NaN in backward names the node and shows the forward call."""
import warnings

import numpy as np
import pytest

import ember
from tests.helpers import torch

LIBS = pytest.mark.parametrize("T", [ember, torch], ids=["ember", "torch"])


def _nan_in_div(T):
    x = T.tensor([1.0, 0.0], requires_grad=True)
    y = x / x  # the line the forward trace must show
    y.sum().backward()


@LIBS
def test_nan_in_backward_raises_naming_node_and_warns_with_forward_trace(T):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with T.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match=r"^Function 'DivBackward0' returned nan values in its 1th output.$"):
                _nan_in_div(T)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any(m.startswith("Anomaly Detection has been enabled.") for m in messages)
    trace = [m for m in messages if m.startswith("Error detected in DivBackward0. Traceback of forward call that "
                                                 "caused the error:")]
    assert trace and "y = x / x" in trace[0] and "_nan_in_div" in trace[0]
    assert "ember/ops" not in trace[0]  # only the user's frames, as PyTorch shows


def test_nan_index_zero():
    with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output."):
        with pytest.warns(UserWarning):
            with ember.autograd.detect_anomaly():
                x = ember.tensor([-1.0, 1.0], requires_grad=True)
                x.sqrt().sum().backward()


def test_without_anomaly_mode_nan_propagates():
    x = ember.tensor([1.0, 0.0], requires_grad=True)
    (x / x).sum().backward()
    assert np.isnan(x.grad.numpy()[1])


def test_check_nan_false_does_not_raise():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with ember.autograd.detect_anomaly(check_nan=False):
            x = ember.tensor([1.0, 0.0], requires_grad=True)
            (x / x).sum().backward()
            assert not ember.autograd.anomaly_mode.is_anomaly_check_nan_enabled()
    assert np.isnan(x.grad.numpy()[1])


def test_set_detect_anomaly_function_and_context():
    ember.autograd.set_detect_anomaly(True)
    assert ember.is_anomaly_enabled()
    ember.autograd.set_detect_anomaly(False)
    assert not ember.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.is_anomaly_enabled()
    assert not ember.is_anomaly_enabled()


def test_other_backward_errors_also_show_forward_trace():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ember.autograd.detect_anomaly():
            x = ember.ones(3, requires_grad=True)
            y = x * 2
            z = y * y
            y.add_(1)
            with pytest.raises(RuntimeError, match="Hint: the backtrace further above shows the operation"):
                z.sum().backward()
    assert any(str(w.message).startswith("Error detected in MulBackward0.") for w in caught)


def test_detect_anomaly_as_decorator():
    def run():
        return ember.is_anomaly_enabled()

    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        run = ember.autograd.detect_anomaly()(run)
        assert run()
    assert not ember.is_anomaly_enabled()
