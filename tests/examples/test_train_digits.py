"""A shortened run of the main job (examples/train_digits.py): trains, checkpoints, resumes, plots."""
import importlib.util
import os

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "train_digits.py")


def _load_example():
    spec = importlib.util.spec_from_file_location("train_digits", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_run_learns_checkpoints_and_resumes(tmp_path, capsys):
    example = _load_example()
    acc = example.main(["--epochs", "2", "--out", str(tmp_path), "--quiet"])
    assert acc > 0.85  # two epochs on the real digits data
    ckpt = tmp_path / "checkpoint.pt"
    assert ckpt.exists() and (tmp_path / "curves.png").stat().st_size > 10_000

    acc3 = example.main(["--epochs", "3", "--out", str(tmp_path), "--quiet", "--resume"])
    out = capsys.readouterr().out
    assert "resumed from" in out and "epoch   3" in out and "epoch   1 " not in out.split("resumed from")[1]
    import ember
    state = ember.load(str(ckpt))
    assert state["epoch"] == 3 and len(state["history"]["test_acc"]) == 3
    assert acc3 > 0.85


def test_checkpoint_loads_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    example = _load_example()
    example.main(["--epochs", "1", "--out", str(tmp_path), "--quiet"])
    state = torch.load(str(tmp_path / "checkpoint.pt"))  # weights_only=True: only safe globals in the file
    assert state["model"]["features.0.weight"].shape == (32, 1, 3, 3)
    assert state["optimizer"]["param_groups"][0]["params"] == list(range(8))  # 2 convs + 2 linears, weight and bias each


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    import numpy as np

    import ember
    example = _load_example()
    example.main(["--epochs", "2", "--out", str(tmp_path / "full"), "--quiet"])

    real_epoch, calls = example.train_one_epoch, []

    def interrupted_in_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C after the first epoch's checkpoint was written
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(example, "train_one_epoch", interrupted_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        example.main(["--epochs", "2", "--out", str(tmp_path / "part"), "--quiet"])
    monkeypatch.setattr(example, "train_one_epoch", real_epoch)
    example.main(["--epochs", "2", "--out", str(tmp_path / "part"), "--quiet", "--resume"])

    full = ember.load(str(tmp_path / "full" / "checkpoint.pt"))
    part = ember.load(str(tmp_path / "part" / "checkpoint.pt"))
    assert full["history"] == part["history"]
    for name, value in full["model"].items():  # data order and dropout masks replayed exactly
        np.testing.assert_array_equal(value.numpy(), part["model"][name].numpy(), err_msg=name)
