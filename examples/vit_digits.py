"""A Vision Transformer trained on scikit-learn's bundled handwritten digits (8x8, 1797 images).

    python examples/vit_digits.py                   # full run (20 epochs, about 97% test accuracy)
    python examples/vit_digits.py --resume          # continue from the last checkpoint
    python examples/vit_digits.py --epochs 2 --out /tmp/vit   # a short run

The model is written the way PyTorch ViT code usually writes it: a strided Conv2d cuts the
image into 2x2 patches and embeds them, ``cls_token`` and ``pos_embedding`` are bare
``nn.Parameter``s registered by assignment, an ``nn.TransformerEncoder`` (pre-norm, GELU,
``batch_first=True``) mixes the 16 patches plus the class token, and the class token's output is
classified. AdamW with a linear warm-up then cosine decay stepped every iteration, gradient clipping,
``ember.save`` checkpoints each epoch that ``--resume`` continues from, a tqdm bar per epoch and a
matplotlib PNG of the curves.
"""
from __future__ import annotations

import argparse
import math
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


class ViT(nn.Module):
    """Patch embedding by a strided convolution, a class token, learned positions, a Transformer encoder."""

    def __init__(self, image_size: int = 8, patch_size: int = 2, channels: int = 1, num_classes: int = 10,
                 dim: int = 64, depth: int = 4, heads: int = 4, mlp_dim: int = 128, dropout: float = 0.1,
                 emb_dropout: float = 0.1):
        super().__init__()
        num_patches = (image_size // patch_size) ** 2
        self.to_patch_embedding = nn.Conv2d(channels, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(ember.randn(1, 1, dim))
        self.pos_embedding = nn.Parameter(ember.randn(1, num_patches + 1, dim))
        self.dropout = nn.Dropout(emb_dropout)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=mlp_dim, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.mlp_head = nn.Linear(dim, num_classes)

    def forward(self, img):
        x = self.to_patch_embedding(img)              # (B, dim, 4, 4)
        x = x.flatten(2).transpose(1, 2)              # (B, 16, dim): one token per patch
        cls_tokens = self.cls_token.expand(x.shape[0], -1, -1)
        x = ember.cat((cls_tokens, x), dim=1) + self.pos_embedding
        x = self.transformer(self.dropout(x))
        return self.mlp_head(x[:, 0])                 # classify from the class token


def warmup_cosine(warmup_steps: int, total_steps: int):
    """LambdaLR factor: linear warm-up from ~0 to 1, then cosine decay to 0."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


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


def train_one_epoch(model, loader, loss_fn, optimizer, scheduler, epoch: int, epochs: int, quiet: bool):
    from tqdm import tqdm
    model.train()
    total, correct, loss_sum = 0, 0, 0.0
    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{epochs}", leave=True, disable=quiet, dynamic_ncols=True)
    for x, y in bar:
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()                               # the schedule is per optimizer step
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        total += len(y)
        bar.set_postfix(loss=f"{loss_sum / total:.4f}", acc=f"{correct / total:.3f}",
                        lr=f"{scheduler.get_last_lr()[0]:.1e}")
    return loss_sum / total, correct / total


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description="Train a Vision Transformer on scikit-learn's digits with ember")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup-epochs", type=int, default=3)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "vit"))
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

    model = ViT(dim=args.dim, depth=args.depth, heads=args.heads, mlp_dim=2 * args.dim, dropout=args.dropout,
                emb_dropout=args.dropout)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    optimizer = ember.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(train_loader)
    scheduler = ember.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(args.warmup_epochs * steps_per_epoch, args.epochs * steps_per_epoch))
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start_epoch = 0
    if args.resume and os.path.exists(ckpt_path):
        ckpt = ember.load(ckpt_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        generator.set_state(ckpt["generator"])
        ember.set_rng_state(ckpt["rng_state"])
        history, start_epoch = ckpt["history"], ckpt["epoch"]
        print(f"resumed from {ckpt_path} at epoch {start_epoch}")

    print(f"train {len(train_set)} / test {len(test_set)} images, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    start = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        train_loss, train_acc = train_one_epoch(model, train_loader, loss_fn, optimizer, scheduler, epoch,
                                                args.epochs, args.quiet)
        test_loss, test_acc = evaluate(model, test_loader, loss_fn)
        for key, value in zip(history, (train_loss, train_acc, test_loss, test_acc)):
            history[key].append(value)
        print(f"epoch {epoch + 1:3d}  train loss {train_loss:.4f} acc {train_acc:.4f}  "
              f"test loss {test_loss:.4f} acc {test_acc:.4f}")
        ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                    "rng_state": ember.get_rng_state(), "history": history, "epoch": epoch + 1}, ckpt_path)
    elapsed = time.perf_counter() - start
    if history["test_acc"]:
        save_curves(history, os.path.join(args.out, "curves.png"), "ember: Vision Transformer on scikit-learn digits",
                    DIGITS_PANELS)
        print(f"test accuracy {history['test_acc'][-1]:.4f} after {len(history['test_acc'])} epochs "
              f"({elapsed:.1f}s this run); checkpoint {ckpt_path}, curves {os.path.join(args.out, 'curves.png')}")
        return history["test_acc"][-1]
    return float("nan")


if __name__ == "__main__":
    main()
