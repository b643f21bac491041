"""PyTorch baselines for `bench train --against=torch`: the same pre-activation WRN trained
with the same step (SGD + Nesterov momentum, L2 as weight decay, cross-entropy) in eager
mode with channels_last tensors, and under torch.compile.

The PyTorch steps run in a worker process (`TorchWorker`), driven round by round from the
benchmark so the rounds still interleave with TensorFlow's: in one process the two
frameworks' thread pools fight (measured here: PyTorch eager ran ~9x slower once TensorFlow
had run in the same process).

PyTorch is optional (`pip install -e '.[bench]'`); `torch_missing_reason()` says why it is not
usable when it is not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Optional, Tuple

import numpy as np


def torch_missing_reason() -> Optional[str]:
    """None when PyTorch can be imported, else the reason (for a clean skip)."""
    try:
        import torch  # noqa: F401
    except ImportError as e:
        return f"PyTorch cannot be imported ({e}); pip install -e '.[bench]'"
    return None


def wide_resnet(depth: int, width: int, num_classes: int):
    """WRN-depth-width as ens_kd_tf.models.wide_resnet builds it (pre-activation, 16-channel
    stem, 1x1 shortcut on the pre-activated input where the shape changes, no conv bias)."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.bn1, self.bn2 = nn.BatchNorm2d(cin, momentum=0.1), nn.BatchNorm2d(cout)
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.shortcut = (None if cin == cout and stride == 1
                             else nn.Conv2d(cin, cout, 1, stride, 0, bias=False))

        def forward(self, x):
            pre = torch.relu(self.bn1(x))
            short = x if self.shortcut is None else self.shortcut(pre)
            y = self.conv2(torch.relu(self.bn2(self.conv1(pre))))
            return y + short

    blocks = (depth - 4) // 6
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
    for cout, stride in ((16 * width, 1), (32 * width, 2), (64 * width, 2)):
        for b in range(blocks):
            layers.append(Block(cin, cout, stride if b == 0 else 1))
            cin = cout
    layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


def parse_wrn(name: str) -> Tuple[int, int]:
    """'wrn_16_4' -> (16, 4); other zoo names have no PyTorch twin here."""
    parts = name.split("_")
    if len(parts) != 3 or parts[0] != "wrn":
        raise ValueError(f"--against=torch needs a wrn_<depth>_<width> model, not {name!r}")
    return int(parts[1]), int(parts[2])


class TorchStep:
    """One PyTorch train step of the WRN on a fixed synthetic batch; `seconds(steps)` times
    `steps` of them (the 3 warm-up steps in __init__ include torch.compile's compilation)."""

    def __init__(self, name: str, batch: int, num_classes: int, compiled: bool,
                 seed: int = 0):
        import torch

        torch.manual_seed(seed)
        depth, width = parse_wrn(name)
        model = wide_resnet(depth, width, num_classes).to(memory_format=torch.channels_last)
        self.params = sum(p.numel() for p in model.parameters())
        self.opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                   weight_decay=5e-4)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        rng = np.random.default_rng(0)
        x = torch.from_numpy(rng.uniform(0, 1, (batch, 3, 32, 32)).astype(np.float32))
        self.x = x.contiguous(memory_format=torch.channels_last)
        self.y = torch.from_numpy(rng.integers(0, num_classes, batch).astype(np.int64))
        model.train()
        self.forward = torch.compile(model) if compiled else model
        for _ in range(3):
            self._step().item()

    def _step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.forward(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def seconds(self, steps: int) -> float:
        """Seconds per step over `steps` steps."""
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = self._step()
        loss.item()
        return (time.perf_counter() - t0) / steps


class TorchWorker:
    """A `python -m ens_kd_tf.bench_torch` process holding a warmed-up TorchStep;
    `seconds(steps)` has it time `steps` steps and waits for the answer."""

    def __init__(self, name: str, batch: int, num_classes: int, compiled: bool):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ens_kd_tf.bench_torch", name, str(batch),
             str(num_classes), str(int(compiled))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.params = int(self._read()["params"])

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the PyTorch worker exited (code {self.proc.wait()})")
        return json.loads(line)

    def seconds(self, steps: int) -> float:
        self.proc.stdin.write(f"{steps}\n")
        return float(self._read()["seconds"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _worker_main(argv) -> None:
    name, batch, classes, compiled = argv[1], int(argv[2]), int(argv[3]), argv[4] == "1"
    step = TorchStep(name, batch, classes, compiled)
    print(json.dumps({"params": step.params}), flush=True)
    for line in sys.stdin:
        print(json.dumps({"seconds": step.seconds(int(line))}), flush=True)


if __name__ == "__main__":
    _worker_main(sys.argv)
