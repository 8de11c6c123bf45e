"""The main job: train a small CNN on scikit-learn's bundled handwritten digits (8x8, 1797 images).

    python examples/train_digits.py                 # full run (about 20 epochs)
    python examples/train_digits.py --resume        # continue from the last checkpoint
    python examples/train_digits.py --epochs 2 --out /tmp/run   # a short run

Written exactly as a PyTorch program would be (``import ember as torch`` style): Dataset,
DataLoader, nn.Module, CrossEntropyLoss, Adam, a cosine LR schedule, ``ember.save``
checkpoints that resume, a tqdm bar per epoch and a matplotlib PNG of the curves.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import ember
from ember import nn
from ember.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the examples' shared helpers
from example_common import load_digits_split, save_curves  # noqa: E402

DIGITS_PANELS = [("loss", "cross-entropy", [("train_loss", "train"), ("test_loss", "test")]),
                 ("accuracy", "accuracy", [("train_acc", "train"), ("test_acc", "test")])]


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions, a 2x2 max-pool and two linear layers, for 1x8x8 inputs."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def evaluate(model, loader, loss_fn):
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with ember.no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            total += len(y)
    return loss_sum / total, correct / total


def train_one_epoch(model, loader, loss_fn, optimizer, epoch: int, epochs: int, quiet: bool):
    from tqdm import tqdm
    model.train()
    total, correct, loss_sum = 0, 0, 0.0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=True, disable=quiet, dynamic_ncols=True)
    for x, y in bar:
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        total += len(y)
        bar.set_postfix(loss=f"{loss_sum / total:.4f}", acc=f"{correct / total:.3f}")
    return loss_sum / total, correct / total


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description="Train a CNN on scikit-learn's digits with ember")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "digits"))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    ember.manual_seed(args.seed)
    train_set, test_set = load_digits_split(args.seed)
    generator = ember.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, generator=generator)
    test_loader = DataLoader(test_set, batch_size=256)

    model = DigitsCNN()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start_epoch = 0
    if args.resume and os.path.exists(ckpt_path):
        ckpt = ember.load(ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        generator.set_state(ckpt["generator"])
        if "rng_state" in ckpt:  # the global generator drives dropout: restoring it makes the resume exact
            ember.set_rng_state(ckpt["rng_state"])
        history, start_epoch = ckpt["history"], ckpt["epoch"]
        print(f"resumed from {ckpt_path} at epoch {start_epoch}")

    print(f"train {len(train_set)} / test {len(test_set)} images, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    start = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        train_loss, train_acc = train_one_epoch(model, train_loader, loss_fn, optimizer, epoch, args.epochs,
                                                args.quiet)
        test_loss, test_acc = evaluate(model, test_loader, loss_fn)
        scheduler.step()
        for key, value in zip(history, (train_loss, train_acc, test_loss, test_acc)):
            history[key].append(value)
        print(f"epoch {epoch + 1:3d}  train loss {train_loss:.4f} acc {train_acc:.4f}  "
              f"test loss {test_loss:.4f} acc {test_acc:.4f}")
        ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                    "rng_state": ember.get_rng_state(),
                    "history": history, "epoch": epoch + 1}, ckpt_path)
    elapsed = time.perf_counter() - start
    if history["test_acc"]:
        save_curves(history, os.path.join(args.out, "curves.png"), "ember: CNN on scikit-learn digits", DIGITS_PANELS)
        print(f"test accuracy {history['test_acc'][-1]:.4f} after {len(history['test_acc'])} epochs "
              f"({elapsed:.1f}s this run); checkpoint {ckpt_path}, curves {os.path.join(args.out, 'curves.png')}")
        return history["test_acc"][-1]
    return float("nan")


if __name__ == "__main__":
    main()
