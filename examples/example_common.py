"""What the example programs share: scikit-learn's digits as train/test tensors, and the curves PNG."""
from __future__ import annotations

import numpy as np

import ember
from ember.utils.data import TensorDataset


def load_digits_split(seed: int, test_fraction: float = 0.2):
    """The real digits data (no download: it ships with scikit-learn), split into train/test tensors."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]   # (N, 1, 8, 8) in [0, 1]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    to_t = ember.from_numpy
    return (TensorDataset(to_t(images[train]), to_t(labels[train])),
            TensorDataset(to_t(images[test]), to_t(labels[test])))


def save_curves(history: dict, path: str, title: str, panels) -> None:
    """A PNG with one plot per panel ``(panel title, y label, [(history key, line label), ...])``
    over the epochs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (panel_title, ylabel, lines) in zip(axes[0], panels):
        for key, label in lines:
            ax.plot(range(1, len(history[key]) + 1), history[key], label=label)
        ax.set_xlabel("epoch"), ax.set_ylabel(ylabel), ax.legend(), ax.set_title(panel_title)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
