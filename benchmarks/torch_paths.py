"""PyTorch paths: the articles' ``DataLoader`` loop, a hand-batched loop, workload C's loop.

Every function takes the shared NumPy data and initial weights (Keras layout, W is (in, out))
and returns a :class:`~benchmarks.common.Run`; repetition 0 is the warm-up.
"""

from __future__ import annotations

import itertools
import time
from itertools import pairwise

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .common import SEED, THREADS, Data, Run, Workload


def setup(threads: int = THREADS) -> str:
    """Use ``threads`` threads for PyTorch's kernels; return the version."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set, or inter-op work already started
        pass
    return torch.__version__


def build(layers: tuple[int, ...], weights: list[np.ndarray]) -> nn.Sequential:
    """Linear + ReLU layers (no ReLU after the last), initialised from ``weights``."""
    modules: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(pairwise(layers)):
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(weights[2 * i].T)))
            linear.bias.copy_(torch.from_numpy(weights[2 * i + 1]))
        modules.append(linear)
        if i < len(layers) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def get_weights(model: nn.Sequential) -> list[np.ndarray]:
    """The model's weights in Keras' layout."""
    out = []
    for module in model:
        if isinstance(module, nn.Linear):
            out += [module.weight.detach().numpy().T.copy(), module.bias.detach().numpy().copy()]
    return out


def _model_and_optimizer(workload: Workload, weights: list[np.ndarray]):
    model = build(workload.layers, weights)
    optimizer = torch.optim.SGD(model.parameters(), lr=workload.learning_rate,
                                momentum=workload.momentum)
    return model, optimizer


def dataloader_loop(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                    batch_size: int | None = None, shuffle: bool = True, seed: int = SEED,
                    rep_steps: int | None = None) -> Run:
    """The articles' loop: ``DataLoader(shuffle=True)`` → zero_grad → forward → loss →
    backward → step, with ``running_loss += loss.item()`` (the printing left out).

    The articles' ``torchvision.datasets.MNIST`` + ``ToTensor`` + ``Normalize`` pipeline is
    replaced by a ``TensorDataset`` of the already-normalised rows (the same numbers), which
    is faster than the original, so the ratios against it are conservative.
    """
    batch_size = batch_size or workload.batch_size
    model, optimizer = _model_and_optimizer(workload, weights)
    criterion = nn.CrossEntropyLoss()
    dataset = TensorDataset(torch.from_numpy(data.x), torch.from_numpy(data.y))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle,
                        generator=torch.Generator().manual_seed(seed))
    run, one_pass = Run(), None
    for epoch in range(epochs):
        start = time.perf_counter()
        if rep_steps and epoch:  # timed repetitions: consecutive slices of one more pass
            one_pass = iter(loader) if one_pass is None else one_pass
            batches = itertools.islice(one_pass, rep_steps)
        else:
            batches = loader
        running_loss, steps = 0.0, 0
        for inputs, labels in batches:
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            steps += 1
        run.seconds.append(time.perf_counter() - start)
        run.losses.append(running_loss / steps)
    run.weights = get_weights(model)
    return run


def hand_batched_loop(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                      batch_size: int | None = None, shuffle: bool = True,
                      seed: int = SEED, rep_steps: int | None = None) -> Run:
    """The same loop without ``DataLoader``: one ``randperm`` per epoch, batches by indexing
    the in-memory tensors (``x[idx]``), so no per-example Python work."""
    batch_size = batch_size or workload.batch_size
    model, optimizer = _model_and_optimizer(workload, weights)
    criterion = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(data.x), torch.from_numpy(data.y)
    n = len(y)
    generator = torch.Generator().manual_seed(seed)
    run = Run()
    for epoch in range(epochs):
        start = time.perf_counter()
        if epoch <= 1 or not rep_steps:  # a new pass (repetitions slice one pass)
            order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
            position = 0
        end = min(n, position + rep_steps * batch_size) if rep_steps and epoch else n
        running_loss, steps = 0.0, 0
        for i in range(position, end, batch_size):
            idx = order[i:i + batch_size]
            inputs, labels = x[idx], y[idx]
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            steps += 1
        position = end
        run.seconds.append(time.perf_counter() - start)
        run.losses.append(running_loss / steps)
    run.weights = get_weights(model)
    return run


def full_batch_loop(x: np.ndarray, y: np.ndarray, workload: Workload,
                    weights: list[np.ndarray], reps: int, steps: int) -> Run:
    """Workload C in PyTorch: ``steps`` full-batch SGD steps per repetition, MSE loss.

    ``Run.losses`` holds the loss of the first step of each repetition (fetched once per
    repetition, as the TF1 original fetches nothing per step)."""
    model, optimizer = _model_and_optimizer(workload, weights)
    criterion = nn.MSELoss()
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    run = Run()
    for _ in range(reps):
        start = time.perf_counter()
        for step in range(steps):
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            if step == 0:
                first = loss.item()
        run.seconds.append(time.perf_counter() - start)
        run.losses.append(first)
    run.weights = get_weights(model)
    return run


def matmul_gflops(n: int, m: int, k: int, reps: int) -> float:
    """Best-of-``reps`` float32 ``(n, k) @ (k, m)`` rate in GFLOP/s (2·n·m·k per product)."""
    a, b = torch.randn(n, k), torch.randn(k, m)
    torch.mm(a, b)
    inner = max(1, int(2e8 // (2 * n * m * k)))  # ≥ ~0.2 GFLOP per timed sample
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - start) / inner)
    return 2 * n * m * k / best / 1e9


def dataloader_iterate(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                       batch_size: int | None = None, shuffle: bool = True,
                       seed: int = SEED, rep_steps: int | None = None) -> Run:
    """Only iterate the articles' ``DataLoader``, no training: the input cost."""
    dataset = TensorDataset(torch.from_numpy(data.x), torch.from_numpy(data.y))
    loader = DataLoader(dataset, batch_size=batch_size or workload.batch_size, shuffle=shuffle,
                        generator=torch.Generator().manual_seed(seed))
    run, one_pass = Run(), None
    for epoch in range(epochs):
        start = time.perf_counter()
        if rep_steps and epoch:
            one_pass = iter(loader) if one_pass is None else one_pass
        for _batch in itertools.islice(one_pass, rep_steps) if rep_steps and epoch else loader:
            pass
        run.seconds.append(time.perf_counter() - start)
    return run


def step_on_one_batch(data: Data, workload: Workload, weights: list[np.ndarray], epochs: int,
                      batch_size: int | None = None, shuffle: bool = True,
                      seed: int = SEED) -> Run:
    """Only the training steps, an epoch's worth, all on one batch already in memory."""
    batch_size = batch_size or workload.batch_size
    model, optimizer = _model_and_optimizer(workload, weights)
    criterion = nn.CrossEntropyLoss()
    x = torch.from_numpy(data.x[:batch_size])
    y = torch.from_numpy(data.y[:batch_size])
    steps = -(-len(data) // batch_size)
    run = Run()
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            loss.item()
        run.seconds.append(time.perf_counter() - start)
    return run
