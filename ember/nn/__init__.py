"""``ember.nn``: parameters, modules, functional ops and initialisation."""
from . import parameter  # noqa: F401
from .parameter import Buffer, Parameter, UninitializedParameter
from . import functional  # noqa: F401
from . import modules  # noqa: F401
from .modules import *  # noqa: F401,F403 - every Module class (see modules/__init__.py)
from . import init  # noqa: F401
from . import utils  # noqa: F401

__all__ = ["Buffer", "Parameter", "UninitializedParameter", "init", *modules.__all__]
