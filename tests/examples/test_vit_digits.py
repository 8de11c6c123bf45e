"""A shortened run of examples/vit_digits.py: a 1-layer ViT trains, checkpoints, resumes and plots."""
import importlib.util
import os

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "vit_digits.py")
_SHORT = ["--depth", "1", "--batch-size", "32", "--lr", "4e-3", "--warmup-epochs", "1", "--quiet"]


def _load_example():
    spec = importlib.util.spec_from_file_location("vit_digits", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_registers_cls_token_and_pos_embedding():
    example = _load_example()
    model = example.ViT(dim=16, depth=1, heads=2, mlp_dim=32)
    names = dict(model.named_parameters())
    assert names["cls_token"].shape == (1, 1, 16) and names["pos_embedding"].shape == (1, 17, 16)
    assert names["to_patch_embedding.weight"].shape == (16, 1, 2, 2)
    import ember
    logits = model(ember.zeros(3, 1, 8, 8))
    assert logits.shape == (3, 10)
    logits.sum().backward()
    assert model.cls_token.grad is not None and model.pos_embedding.grad.abs().sum().item() > 0


def test_short_run_learns_checkpoints_and_resumes(tmp_path, capsys):
    example = _load_example()
    acc = example.main(["--epochs", "3", "--out", str(tmp_path)] + _SHORT)
    assert acc > 0.5  # three epochs of a 1-layer ViT on the real digits data (chance is 0.1)
    ckpt = tmp_path / "checkpoint.pt"
    assert ckpt.exists() and (tmp_path / "curves.png").stat().st_size > 10_000

    acc4 = example.main(["--epochs", "4", "--out", str(tmp_path), "--resume"] + _SHORT)
    out = capsys.readouterr().out
    assert "resumed from" in out and "epoch   4" in out and "epoch   1 " not in out.split("resumed from")[1]
    import ember
    state = ember.load(str(ckpt))
    assert state["epoch"] == 4 and len(state["history"]["test_acc"]) == 4
    assert state["model"]["cls_token"].shape == (1, 1, 64)
    assert state["model"]["pos_embedding"].shape == (1, 17, 64)
    assert state["scheduler"]["last_epoch"] == 4 * 45  # stepped once per batch (1438 images / 32)
    assert acc4 > 0.5


def test_checkpoint_loads_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    example = _load_example()
    example.main(["--epochs", "1", "--depth", "1", "--out", str(tmp_path), "--quiet"])
    state = torch.load(str(tmp_path / "checkpoint.pt"))  # weights_only=True: only safe globals in the file
    assert state["model"]["transformer.layers.0.self_attn.in_proj_weight"].shape == (192, 64)
    assert state["optimizer"]["param_groups"][0]["weight_decay"] == 0.05
