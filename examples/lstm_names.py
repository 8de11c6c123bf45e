"""A character-level LSTM that learns to write Unicode character names ("LATIN SMALL LETTER A WITH ...").

    python examples/lstm_names.py                   # full run (4 epochs)
    python examples/lstm_names.py --resume          # continue from the last checkpoint
    python examples/lstm_names.py --sample          # print names sampled from the last checkpoint
    python examples/lstm_names.py --epochs 1 --out /tmp/names   # a short run

The data ships with Python: ``unicodedata.name`` of every code point (about 32,000 names once the
numbered CJK/Tangut/Hangul ones are left out); 10% of the names are held out. Each name is one
sequence, start token + characters + end token; a batch is padded with
``nn.utils.rnn.pad_sequence`` and packed with ``pack_padded_sequence`` so the two-layer
``nn.LSTM(batch_first=True)`` never reads the padding, and the loss ignores it
(``ignore_index``). Adam, gradient clipping with ``nn.utils.clip_grad_norm_``, a cosine schedule,
``ember.save`` checkpoints each epoch that ``--resume`` continues from, a tqdm bar per epoch and a
matplotlib PNG of the curves. At the end it samples names and reports how many are real Unicode
names, and how many of those were held out (never seen in training).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
import unicodedata

import numpy as np

import ember
from ember import nn
import ember.nn.functional as F
from ember.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from ember.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the examples' shared helpers
from example_common import save_curves  # noqa: E402

PAD, END = 0, 1          # token ids: padding, and the end-of-name token that also starts every sequence


def load_names() -> list[str]:
    """Every named code point, without the numbered families (CJK UNIFIED IDEOGRAPH-4E00, HANGUL SYLLABLE ...)."""
    names = []
    for code_point in range(sys.maxunicode + 1):
        name = unicodedata.name(chr(code_point), None)
        if name and not re.search(r"-[0-9A-F]{4,6}$", name) and not name.startswith("HANGUL SYLLABLE "):
            names.append(name)
    return names


class NamesDataset(Dataset):
    """Each item: the token ids of END + name + END (END doubles as the start token)."""

    def __init__(self, names: list[str], chars: str):
        self.names = names
        self.stoi = {ch: i + 2 for i, ch in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index):
        return ember.tensor([END] + [self.stoi[ch] for ch in self.names[index]] + [END])


def collate_names(batch: list):
    """Pad a list of sequences to (B, T): inputs drop the last token, targets the first."""
    lengths = ember.tensor([len(seq) - 1 for seq in batch])
    padded = pad_sequence(batch, batch_first=True, padding_value=PAD)
    return padded[:, :-1], padded[:, 1:], lengths


class CharLSTM(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 128, num_layers: int = 2,
                 dropout: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens, lengths=None, state=None):
        """Logits for every position; with ``lengths`` the padding is packed away from the LSTM."""
        x = self.embedding(tokens)
        if lengths is not None:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, state = self.lstm(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        else:
            out, state = self.lstm(x, state)
        return self.head(out), state

    @ember.no_grad()
    def sample(self, n: int, max_length: int, temperature: float = 1.0, generator=None) -> list[list[int]]:
        """``n`` names at once, one character per step, carrying the LSTM state (h, c) between steps."""
        tokens = ember.full((n, 1), END, dtype=ember.long)
        state, rows = None, [[] for _ in range(n)]
        done = ember.zeros(n, dtype=ember.bool)
        for _ in range(max_length):
            logits, state = self(tokens, state=state)
            logits = logits[:, -1] / temperature
            logits[:, PAD] = -float("inf")             # padding is never a character
            probs = F.softmax(logits, dim=-1)
            tokens = ember.multinomial(probs, 1, generator=generator)
            for row, token, finished in zip(rows, tokens[:, 0].tolist(), done.tolist()):
                if not finished and token != END:
                    row.append(token)
            done |= tokens[:, 0] == END
            if done.all():
                break
        return rows


def masked_loss(logits, targets):
    """Mean cross-entropy over the real characters (padding ignored) and how many of them were predicted."""
    flat_logits, flat_targets = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
    loss = F.cross_entropy(flat_logits, flat_targets, ignore_index=PAD)
    mask = flat_targets != PAD
    correct = ((flat_logits.argmax(dim=1) == flat_targets) & mask).sum().item()
    return loss, correct, mask.sum().item()


def evaluate(model, loader):
    model.eval()
    loss_sum, correct, total = 0.0, 0, 0
    with ember.no_grad():
        for inputs, targets, lengths in loader:
            logits, _ = model(inputs, lengths)
            loss, hits, count = masked_loss(logits, targets)
            loss_sum += loss.item() * count
            correct += hits
            total += count
    return loss_sum / total, correct / total


def train_one_epoch(model, loader, optimizer, grad_clip: float, epoch: int, epochs: int, quiet: bool):
    from tqdm import tqdm
    model.train()
    loss_sum, correct, total = 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=True, disable=quiet, dynamic_ncols=True)
    for inputs, targets, lengths in bar:
        optimizer.zero_grad()
        logits, _ = model(inputs, lengths)
        loss, hits, count = masked_loss(logits, targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        loss_sum += loss.item() * count
        correct += hits
        total += count
        bar.set_postfix(loss=f"{loss_sum / total:.4f}", acc=f"{correct / total:.3f}")
    return loss_sum / total, correct / total


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description="Train a character-level LSTM on Unicode character names")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=0, help="use only this many names (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "names"))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--sample", action="store_true", help="only print names sampled from OUT/checkpoint.pt")
    parser.add_argument("--num-samples", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    ckpt = ember.load(ckpt_path) if (args.resume or args.sample) and os.path.exists(ckpt_path) else None
    if args.sample and ckpt is None:
        parser.error(f"--sample needs a checkpoint; none at {ckpt_path}")
    if ckpt is not None:  # the model's shape is the checkpoint's, whatever the command line says
        args.hidden_size, args.num_layers = ckpt["config"]["hidden_size"], ckpt["config"]["num_layers"]
    ember.manual_seed(args.seed)
    names = load_names()
    order = np.random.default_rng(args.seed).permutation(len(names))
    if args.limit:
        order = order[:args.limit]
    n_val = len(order) // 10
    val_names, train_names = [names[i] for i in order[:n_val]], [names[i] for i in order[n_val:]]
    chars = "".join(sorted(set("".join(names))))
    train_set, val_set = NamesDataset(train_names, chars), NamesDataset(val_names, chars)
    generator = ember.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator,
                              collate_fn=collate_names)
    val_loader = DataLoader(val_set, batch_size=256, collate_fn=collate_names)

    model = CharLSTM(len(chars) + 2, hidden_size=args.hidden_size, num_layers=args.num_layers)
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr / 20)
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    start_epoch = 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        generator.set_state(ckpt["generator"])
        ember.set_rng_state(ckpt["rng_state"])
        history, start_epoch = ckpt["history"], ckpt["epoch"]
        print(f"{'loaded' if args.sample else 'resumed from'} {ckpt_path} at epoch {start_epoch}")

    def show_samples() -> float:
        """Print sampled names; returns the fraction that are real Unicode names."""
        itos = {i + 2: ch for i, ch in enumerate(chars)}
        sampled = ["".join(itos.get(t, "?") for t in row)
                   for row in model.sample(args.num_samples, 100, args.temperature,
                                           ember.Generator().manual_seed(args.seed))]
        known, held_out = set(names), set(val_names)
        real = [name for name in sampled if name in known]
        unseen = [name for name in real if name in held_out]
        print(f"--- {len(sampled)} sampled names (temperature {args.temperature}), the first 15 ---")
        for name in sampled[:15]:
            tag = "  (real, held out)" if name in held_out else "  (real)" if name in known else ""
            print(f"  {name}{tag}")
        print(f"--- {len(real)}/{len(sampled)} are real Unicode names, {len(unseen)} of them held out "
              f"(never trained on); {len(set(sampled) - known)} distinct new names ---")
        return len(real) / max(1, len(sampled))

    if args.sample:
        show_samples()
        return history["val_loss"][-1] if history["val_loss"] else float("nan")

    print(f"{len(train_set)} train / {len(val_set)} validation names, {len(chars)} characters, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    start = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        train_loss, train_acc = train_one_epoch(model, train_loader, optimizer, args.grad_clip, epoch, args.epochs,
                                                args.quiet)
        val_loss, val_acc = evaluate(model, val_loader)
        scheduler.step()
        for key, value in zip(history, (train_loss, train_acc, val_loss, val_acc)):
            history[key].append(value)
        print(f"epoch {epoch + 1:3d}  train loss {train_loss:.4f} acc {train_acc:.4f}  "
              f"val loss {val_loss:.4f} acc {val_acc:.4f}")
        ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                    "rng_state": ember.get_rng_state(), "history": history, "epoch": epoch + 1,
                    "config": {"hidden_size": args.hidden_size, "num_layers": args.num_layers}}, ckpt_path)
    elapsed = time.perf_counter() - start
    if history["val_loss"]:
        save_curves(history, os.path.join(args.out, "curves.png"), "ember: 2-layer LSTM on Unicode character names",
                    [("loss", "cross-entropy per character", [("train_loss", "train"),
                                                              ("val_loss", "validation (held-out names)")]),
                     ("next-character accuracy", "next-character accuracy",
                      [("train_acc", "train"), ("val_acc", "validation (held-out names)")])])
        show_samples()
        print(f"val loss {history['val_loss'][-1]:.4f} (next-character accuracy {history['val_acc'][-1]:.4f}) "
              f"after {len(history['val_loss'])} epochs ({elapsed:.1f}s this run); checkpoint {ckpt_path}, "
              f"curves {os.path.join(args.out, 'curves.png')}")
        return history["val_loss"][-1]
    return float("nan")


if __name__ == "__main__":
    main()
