"""``ember.nn``: parameters, modules, functional ops and initialisation."""
from . import parameter  # noqa: F401
from .parameter import Parameter, UninitializedParameter

__all__ = ["Parameter", "UninitializedParameter"]
