import numpy as np
import pytest

import ember


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Tests may change the default dtype, print options or grad mode; put them back."""
    dtype = ember.get_default_dtype()
    grad_enabled = ember.is_grad_enabled()
    yield
    ember.set_default_dtype(dtype)
    ember.set_grad_enabled(grad_enabled)
    ember.autograd.set_detect_anomaly(False)
