"""A shortened run of examples/lstm_names.py: an LSTM on 3,000 Unicode names trains, checkpoints, resumes, samples."""
import importlib.util
import os

import pytest

pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

import ember  # noqa: E402

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "lstm_names.py")
_SHORT = ["--limit", "3000", "--num-samples", "20", "--quiet"]


def _load_example():
    spec = importlib.util.spec_from_file_location("lstm_names", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_padding_is_packed_away():
    example = _load_example()
    chars = "".join(sorted(set("".join(["DIGIT ONE", "LATIN SMALL LETTER A WITH GRAVE"]))))
    data = example.NamesDataset(["DIGIT ONE", "LATIN SMALL LETTER A WITH GRAVE"], chars)
    inputs, targets, lengths = example.collate_names([data[0], data[1]])
    assert inputs.shape == targets.shape == (2, 32) and lengths.tolist() == [10, 32]
    assert targets[0, 9].item() == example.END and (targets[0, 10:] == example.PAD).all()
    ember.manual_seed(0)
    model = example.CharLSTM(len(chars) + 2, embed_dim=8, hidden_size=16, num_layers=2, dropout=0.0)
    with ember.no_grad():
        batched, _ = model(inputs, lengths)
        alone, _ = model(inputs[:1, :10], lengths[:1])
    assert ember.allclose(batched[0, :10], alone[0], atol=1e-6)  # the short name never sees the padding
    rows = model.sample(5, 12, generator=ember.Generator().manual_seed(0))
    assert len(rows) == 5 and all(len(r) <= 12 and example.END not in r and example.PAD not in r for r in rows)


def test_short_run_learns_checkpoints_resumes_and_samples(tmp_path, capsys):
    example = _load_example()
    val_loss = example.main(["--epochs", "1", "--out", str(tmp_path)] + _SHORT)
    assert val_loss < 2.8  # uniform over 40 tokens is ln(40) = 3.69; one epoch over 2,700 names
    ckpt = tmp_path / "checkpoint.pt"
    assert ckpt.exists() and (tmp_path / "curves.png").stat().st_size > 10_000
    assert "sampled names" in capsys.readouterr().out

    val_loss2 = example.main(["--epochs", "2", "--out", str(tmp_path), "--resume"] + _SHORT)
    out = capsys.readouterr().out
    assert "resumed from" in out and "epoch   2" in out and "epoch   1 " not in out.split("resumed from")[1]
    state = ember.load(str(ckpt))
    assert state["epoch"] == 2 and len(state["history"]["val_loss"]) == 2
    assert state["model"]["lstm.weight_hh_l1"].shape == (4 * 128, 128)
    assert val_loss2 < val_loss

    example.main(["--out", str(tmp_path), "--sample", "--num-samples", "5"])
    assert "5 sampled names" in capsys.readouterr().out


def test_checkpoint_loads_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    example = _load_example()
    example.main(["--epochs", "1", "--limit", "500", "--hidden-size", "32", "--out", str(tmp_path), "--quiet",
                  "--num-samples", "2"])
    state = torch.load(str(tmp_path / "checkpoint.pt"))  # weights_only=True: only safe globals in the file
    lstm = torch.nn.LSTM(64, 32, num_layers=2, batch_first=True)
    lstm.load_state_dict({k[len("lstm."):]: v for k, v in state["model"].items() if k.startswith("lstm.")})
