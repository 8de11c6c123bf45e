"""Bad input to a layer: PyTorch's exception type and message (naming the shapes), and no state changed."""
import pytest

import ember
from tests.helpers import torch
from tests.nn.test_module import ember_text

CASES = {
    "Linear(4, 3) fed (2, 5)": (lambda T: T.nn.Linear(4, 3), lambda T: T.ones(2, 5)),
    "Linear(4, 3) fed (5,)": (lambda T: T.nn.Linear(4, 3), lambda T: T.ones(5)),
    "Linear(4, 3) fed (2, 2, 5)": (lambda T: T.nn.Linear(4, 3), lambda T: T.ones(2, 2, 5)),
    "Linear(2, 3) fed int64": (lambda T: T.nn.Linear(2, 3), lambda T: T.ones(2, 2, dtype=T.int64)),
    "Bilinear(3, 4, 5) fed one (2, 3)": (lambda T: T.nn.Bilinear(3, 4, 5), lambda T: T.ones(2, 3)),
    "Conv2d fed 2-D": (lambda T: T.nn.Conv2d(3, 4, 3), lambda T: T.ones(5, 5)),
    "Conv2d fed 5-D": (lambda T: T.nn.Conv2d(3, 4, 3), lambda T: T.ones(1, 1, 3, 5, 5)),
    "Conv2d fed unbatched wrong channels": (lambda T: T.nn.Conv2d(3, 4, 3), lambda T: T.ones(2, 5, 5)),
    "Conv2d fed batched wrong channels": (lambda T: T.nn.Conv2d(3, 4, 3), lambda T: T.ones(1, 2, 5, 5)),
    "Conv2d input smaller than kernel": (lambda T: T.nn.Conv2d(3, 4, 3), lambda T: T.ones(1, 3, 2, 5)),
    "Conv1d fed 4-D": (lambda T: T.nn.Conv1d(3, 4, 3), lambda T: T.ones(1, 3, 5, 5)),
    "ConvTranspose2d wrong channels": (lambda T: T.nn.ConvTranspose2d(3, 4, 3), lambda T: T.ones(1, 2, 5, 5)),
    "BatchNorm1d wrong channels": (lambda T: T.nn.BatchNorm1d(3), lambda T: T.ones(4, 5)),
    "BatchNorm1d fed 4-D": (lambda T: T.nn.BatchNorm1d(3), lambda T: T.ones(4, 3, 2, 2)),
    "BatchNorm2d fed 3-D": (lambda T: T.nn.BatchNorm2d(3), lambda T: T.ones(3, 4, 4)),
    "BatchNorm1d batch of one": (lambda T: T.nn.BatchNorm1d(3), lambda T: T.ones(1, 3)),
    "LayerNorm wrong last dim": (lambda T: T.nn.LayerNorm(4), lambda T: T.ones(2, 5)),
    "GroupNorm wrong channels": (lambda T: T.nn.GroupNorm(2, 4), lambda T: T.ones(2, 6, 3)),
    "InstanceNorm1d wrong channels": (lambda T: T.nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
                                      lambda T: T.ones(2, 4, 5)),
    "Embedding index out of range": (lambda T: T.nn.Embedding(5, 3), lambda T: T.tensor([1, 7])),
    "Embedding float indices": (lambda T: T.nn.Embedding(5, 3), lambda T: T.tensor([1.0])),
    "MaxPool2d kernel larger than input": (lambda T: T.nn.MaxPool2d(3), lambda T: T.ones(1, 1, 2, 2)),
    "PReLU wrong channels": (lambda T: T.nn.PReLU(3), lambda T: T.ones(2, 4)),
    "Unflatten sizes do not multiply": (lambda T: T.nn.Unflatten(1, (2, 2)), lambda T: T.ones(2, 5)),
    "Softmax dim out of range": (lambda T: T.nn.Softmax(3), lambda T: T.ones(2, 5)),
}

# PyTorch's BatchNorm counts the batch after its dim check but before batch_norm checks the rest
TORCH_COUNTS_FIRST = {"BatchNorm1d wrong channels", "BatchNorm1d batch of one"}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_error_matches_torch_and_changes_nothing(name):
    make_module, make_input = CASES[name]
    errors = []
    for T in (ember, torch):
        module = make_module(T)
        before = {key: value.clone() for key, value in module.state_dict().items()}
        with pytest.raises(Exception) as info:
            module(make_input(T))
        errors.append(info.value)
        after = module.state_dict()
        changed = [key for key in before if not T.equal(before[key], after[key])]
        # NOTE: PyTorch's BatchNorm counts the batch before checking it; ember changes nothing
        assert changed == ([] if T is ember or name not in TORCH_COUNTS_FIRST else ["num_batches_tracked"]), name
        assert all(p.grad is None for p in module.parameters())
    e, t = errors
    assert type(e) is type(t) or type(e).__name__ == type(t).__name__
    assert str(e) == ember_text(str(t))


@pytest.mark.parametrize("target", [[1, 5, 2], [1, -1, 2]])
def test_class_target_out_of_range(target):
    for T in (ember, torch):
        with pytest.raises(IndexError, match=f"Target {[t for t in target if not 0 <= t < 5][0]} is out of bounds."):
            T.nn.CrossEntropyLoss()(T.randn(3, 5), T.tensor(target))
        with pytest.raises(IndexError, match="out of bounds"):
            T.nn.NLLLoss()(T.randn(3, 5, 2), T.tensor([target, target]).t())
