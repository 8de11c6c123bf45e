"""``ember.utils``: helpers outside the core tensor library (``torch.utils``)."""
from . import data  # noqa: F401
