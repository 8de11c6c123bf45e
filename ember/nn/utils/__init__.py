"""``ember.nn.utils``: helpers around modules and parameters (filled in as they are written)."""
from . import clip_grad, convert_parameters  # noqa: F401,E402
from .clip_grad import (clip_grad_norm_, clip_grad_norm, clip_grad_value_, get_total_norm,  # noqa: F401,E402
                        clip_grads_with_norm_)
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401,E402
from . import rnn  # noqa: F401,E402
