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
