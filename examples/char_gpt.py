"""A character-level GPT trained on the source code of a few Python standard-library modules.

    python examples/char_gpt.py                     # full run (6 epochs of 200 steps)
    python examples/char_gpt.py --resume            # continue from the last checkpoint
    python examples/char_gpt.py --sample            # print a sample from the last checkpoint
    python examples/char_gpt.py --sample --prompt "def " --temperature 0.6 --top-k 10
    python examples/char_gpt.py --epochs 1 --steps-per-epoch 20 --out /tmp/gpt   # a short run

The text ships with every Python installation (``inspect.getsource`` of argparse, textwrap, shutil,
...), so there is nothing to download; the last 10% of each module is held out for the validation loss.
The model is nanoGPT's: token and position ``nn.Embedding``, pre-norm blocks of causal
self-attention (``F.scaled_dot_product_attention(..., is_causal=True)``) and a GELU MLP. AdamW
with two parameter groups (Linear weights decay; biases, LayerNorm and Embedding weights don't),
gradient clipping with ``nn.utils.clip_grad_norm_``, a linear warm-up then cosine decay
(``SequentialLR`` of ``LinearLR`` and ``CosineAnnealingLR``) stepped every iteration,
``ember.save`` checkpoints each epoch that ``--resume`` continues from, a tqdm bar per epoch and
a matplotlib PNG of the curves. At the end it samples text with temperature and top-k.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import time

import numpy as np

import ember
from ember import nn
import ember.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the examples' shared helpers
from example_common import save_curves  # noqa: E402

SOURCE_MODULES = ("argparse", "textwrap", "shutil", "tempfile", "dataclasses", "string", "random", "calendar",
                  "contextlib", "collections", "functools", "pathlib", "enum", "logging", "inspect")


def load_corpus(val_fraction: float = 0.1) -> tuple[str, str]:
    """The source of a few pure-Python stdlib modules: the first 90% of each for training, the last 10% of
    each held out for validation. Non-ASCII characters become '?'."""
    train_parts, val_parts = [], []
    for name in SOURCE_MODULES:
        source = "".join(ch if ord(ch) < 128 else "?" for ch in inspect.getsource(importlib.import_module(name)))
        cut = int(len(source) * (1 - val_fraction))
        train_parts.append(source[:cut])
        val_parts.append(source[cut:])
    return "\n\n".join(train_parts), "\n\n".join(val_parts)


class CharTokenizer:
    """One token per distinct character of the training text."""

    def __init__(self, chars: list[str]):
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}

    def encode(self, text: str) -> list[int]:
        return [self.stoi[ch] for ch in text if ch in self.stoi]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.n_head = n_head
        self.dropout = dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)   # query, key and value in one projection
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)   # (B, heads, T, head_dim)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size: int, block_size: int, n_layer: int = 4, n_head: int = 4, n_embd: int = 128,
                 dropout: float = 0.1):
        super().__init__()
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        pos = ember.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    @ember.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator=None):
        """Extend ``idx`` (B, T) by sampling one token at a time from the softmax of the last logits."""
        for _ in range(max_new_tokens):
            context = idx[:, -self.block_size:]
            logits, _ = self(context)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = ember.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("inf")
            probs = F.softmax(logits, dim=-1)
            idx_next = ember.multinomial(probs, num_samples=1, generator=generator)
            idx = ember.cat((idx, idx_next), dim=1)
        return idx


def configure_optimizer(model: nn.Module, lr: float, weight_decay: float):
    """AdamW with weight decay on Linear weights only; biases, LayerNorm and Embedding weights get none."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            (decay if isinstance(module, nn.Linear) and name == "weight" else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return ember.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99))


def get_batch(data, block_size: int, batch_size: int, generator):
    """``batch_size`` random windows of ``block_size`` tokens and the same windows shifted by one."""
    starts = ember.randint(0, len(data) - block_size - 1, (batch_size, 1), generator=generator)
    positions = starts + ember.arange(block_size)                  # (batch_size, block_size)
    return data[positions], data[positions + 1]


@ember.no_grad()
def estimate_val_loss(model, data, block_size: int, batch_size: int, batches: int, seed: int) -> float:
    """Mean loss over the same ``batches`` windows of the validation text every time (a fixed generator)."""
    model.eval()
    generator = ember.Generator().manual_seed(seed)
    losses = [model(*get_batch(data, block_size, batch_size, generator))[1].item() for _ in range(batches)]
    model.train()
    return float(np.mean(losses))


def train_one_epoch(model, train_data, optimizer, scheduler, generator, args, epoch: int):
    from tqdm import tqdm
    model.train()
    loss_sum = 0.0
    bar = tqdm(range(args.steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}", leave=True,
               disable=args.quiet, dynamic_ncols=True)
    for step in bar:
        x, y = get_batch(train_data, args.block_size, args.batch_size, generator)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item()
        bar.set_postfix(loss=f"{loss_sum / (step + 1):.4f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
    return loss_sum / args.steps_per_epoch


def sample_text(model, tokenizer, prompt: str, length: int, temperature: float, top_k: int, seed: int) -> str:
    model.eval()
    generator = ember.Generator().manual_seed(seed)
    idx = ember.tensor([tokenizer.encode(prompt) or [tokenizer.stoi["\n"]]], dtype=ember.long)
    out = model.generate(idx, length, temperature=temperature, top_k=top_k, generator=generator)
    return tokenizer.decode(out[0].tolist())


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description="Train a character-level GPT on Python stdlib source with ember")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--val-batches", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs", "char_gpt"))
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--sample", action="store_true", help="only print a sample from OUT/checkpoint.pt")
    parser.add_argument("--prompt", default="def ")
    parser.add_argument("--sample-length", type=int, default=400)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    ckpt = ember.load(ckpt_path) if (args.resume or args.sample) and os.path.exists(ckpt_path) else None
    if args.sample and ckpt is None:
        parser.error(f"--sample needs a checkpoint; none at {ckpt_path}")
    if ckpt is not None:  # the model's shape is the checkpoint's, whatever the command line says
        for key in ("block_size", "n_layer", "n_head", "n_embd", "dropout"):
            setattr(args, key, ckpt["config"][key])
    ember.manual_seed(args.seed)
    train_text, val_text = load_corpus()
    tokenizer = CharTokenizer(sorted(set(train_text + val_text)) if ckpt is None else list(ckpt["vocab"]))
    train_data = ember.tensor(tokenizer.encode(train_text), dtype=ember.long)
    val_data = ember.tensor(tokenizer.encode(val_text), dtype=ember.long)

    model = GPT(len(tokenizer.chars), args.block_size, args.n_layer, args.n_head, args.n_embd, args.dropout)
    optimizer = configure_optimizer(model, args.lr, args.weight_decay)
    total_steps = args.epochs * args.steps_per_epoch
    warmup = min(args.warmup_steps, max(1, total_steps - 1))
    scheduler = ember.optim.lr_scheduler.SequentialLR(optimizer, [
        ember.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup),
        ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps - warmup, eta_min=args.lr / 10),
    ], milestones=[warmup])
    generator = ember.Generator().manual_seed(args.seed)
    history = {"train_loss": [], "val_loss": []}
    start_epoch = 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        generator.set_state(ckpt["generator"])
        ember.set_rng_state(ckpt["rng_state"])
        history, start_epoch = ckpt["history"], ckpt["epoch"]
        print(f"{'loaded' if args.sample else 'resumed from'} {ckpt_path} at epoch {start_epoch}")

    def show_sample() -> str:
        sample = sample_text(model, tokenizer, args.prompt, args.sample_length, args.temperature, args.top_k,
                             args.seed)
        print(f"--- sample (temperature {args.temperature}, top-k {args.top_k}) ---\n{sample}\n---")
        return sample

    if args.sample:
        show_sample()
        return history["val_loss"][-1] if history["val_loss"] else float("nan")

    print(f"{len(train_data)} train / {len(val_data)} validation characters of stdlib source, vocabulary "
          f"{len(tokenizer.chars)}, {sum(p.numel() for p in model.parameters())} parameters")
    start = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        train_loss = train_one_epoch(model, train_data, optimizer, scheduler, generator, args, epoch)
        val_loss = estimate_val_loss(model, val_data, args.block_size, args.batch_size, args.val_batches, args.seed)
        history["train_loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        print(f"epoch {epoch + 1:3d}  train loss {train_loss:.4f}  val loss {val_loss:.4f}")
        ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                    "rng_state": ember.get_rng_state(), "history": history, "epoch": epoch + 1,
                    "vocab": "".join(tokenizer.chars), "config": vars(args)}, ckpt_path)
    elapsed = time.perf_counter() - start
    if history["val_loss"]:
        save_curves(history, os.path.join(args.out, "curves.png"), "ember: character-level GPT on stdlib source",
                    [("loss", "cross-entropy per character (nats)", [("train_loss", "train (mean over the epoch)"),
                                                                     ("val_loss", "validation (held-out text)")])])
        show_sample()
        print(f"val loss {history['val_loss'][-1]:.4f} after {len(history['val_loss'])} epochs "
              f"({elapsed:.1f}s this run); checkpoint {ckpt_path}, curves {os.path.join(args.out, 'curves.png')}")
        return history["val_loss"][-1]
    return float("nan")


if __name__ == "__main__":
    main()
