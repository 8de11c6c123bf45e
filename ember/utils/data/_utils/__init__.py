"""DataLoader internals: collation, fetching and the worker processes (``torch.utils.data._utils``)."""
from . import collate, fetch, worker  # noqa: F401
