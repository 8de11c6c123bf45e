"""A shortened run of examples/char_gpt.py: a tiny GPT trains, checkpoints, resumes and samples."""
import importlib.util
import os

import pytest

pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

import ember  # noqa: E402

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "char_gpt.py")
_SHORT = ["--steps-per-epoch", "15", "--n-layer", "1", "--n-embd", "64", "--batch-size", "16", "--warmup-steps",
          "5", "--val-batches", "2", "--sample-length", "40", "--quiet"]


def _load_example():
    spec = importlib.util.spec_from_file_location("char_gpt", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attention_is_causal_and_top_k_one_is_greedy():
    example = _load_example()
    ember.manual_seed(0)
    model = example.GPT(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0).eval()
    idx = ember.randint(0, 20, (2, 8))
    changed = idx.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 20
    with ember.no_grad():
        before, after = model(idx)[0], model(changed)[0]
    assert ember.allclose(before[:, :5], after[:, :5], atol=1e-6)   # the future cannot leak backwards
    assert not ember.allclose(before[:, 5:], after[:, 5:])
    first = model.generate(idx[:, :3], 10, top_k=1, generator=ember.Generator().manual_seed(1))
    second = model.generate(idx[:, :3], 10, top_k=1, generator=ember.Generator().manual_seed(2))
    assert first.shape == (2, 13) and ember.equal(first, second)       # top-1 sampling is argmax


def test_parameter_groups_decay_only_linear_weights():
    example = _load_example()
    model = example.GPT(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16)
    decay, no_decay = example.configure_optimizer(model, lr=1e-3, weight_decay=0.1).param_groups
    linear_weights = {id(m.weight) for m in model.modules() if isinstance(m, ember.nn.Linear)}
    assert {id(p) for p in decay["params"]} == linear_weights and decay["weight_decay"] == 0.1
    assert no_decay["weight_decay"] == 0.0 and id(model.wte.weight) in {id(p) for p in no_decay["params"]}
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_short_run_learns_checkpoints_resumes_and_samples(tmp_path, capsys):
    example = _load_example()
    val_loss = example.main(["--epochs", "2", "--out", str(tmp_path)] + _SHORT)
    assert val_loss < 3.4  # from ln(96) = 4.56 at the start, in 30 steps
    ckpt = tmp_path / "checkpoint.pt"
    assert ckpt.exists() and (tmp_path / "curves.png").stat().st_size > 10_000
    assert "--- sample" in capsys.readouterr().out

    val_loss3 = example.main(["--epochs", "3", "--out", str(tmp_path), "--resume"] + _SHORT)
    out = capsys.readouterr().out
    assert "resumed from" in out and "epoch   3" in out and "epoch   1 " not in out.split("resumed from")[1]
    state = ember.load(str(ckpt))
    assert state["epoch"] == 3 and len(state["history"]["val_loss"]) == 3
    assert state["scheduler"]["last_epoch"] == 45  # stepped once per iteration
    groups = state["optimizer"]["param_groups"]
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0] and len(groups[0]["params"]) == 5
    assert val_loss3 < val_loss + 0.1

    example.main(["--out", str(tmp_path), "--sample", "--prompt", "import ", "--sample-length", "30"])
    out = capsys.readouterr().out
    sample = out.split("---\n", 1)[1].rsplit("\n---", 1)[0]
    assert sample.startswith("import ") and len(sample) == len("import ") + 30
