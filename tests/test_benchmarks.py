"""``benchmarks/``: every measured path trains correctly; nothing here asserts speed.

Each path runs a few steps on a few real rows, without shuffling, from the benchmark's
initial weights, and is compared with a float64 NumPy implementation of the same model and
optimizer: the first-step loss (the loss of the initial weights on the first batch) and the
weights after the last step must agree, and the loss must go down. So the paths of one
workload compute the same thing as each other. The PyTorch paths are skipped when PyTorch
(the optional ``bench`` extra) is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import common, paths, run
from benchmarks.common import WORKLOADS, Workload

try:
    import torch  # noqa: F401

    HAS_TORCH = True
except ImportError:
    HAS_TORCH = False
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 2e-5


def numpy_reference(workload: Workload, weights, x, y, epochs: int, batch_size: int):
    """Train in float64 NumPy without shuffling: returns (first-step loss, weights, losses)."""
    w = [a.astype("float64") for a in weights]
    velocity = [np.zeros_like(a) for a in w]
    n_layers = len(workload.layers) - 1
    losses = []
    for _ in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size].astype("float64"), y[start:start + batch_size]
            acts = [xb]
            for i in range(n_layers):
                z = acts[-1] @ w[2 * i] + w[2 * i + 1]
                acts.append(np.maximum(z, 0) if i < n_layers - 1 else z)
            if workload.loss == "xent":
                p = np.exp(z - z.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                losses.append(-np.log(p[np.arange(len(yb)), yb]).mean())
                dz = p.copy()
                dz[np.arange(len(yb)), yb] -= 1
                dz /= len(yb)
            else:
                losses.append(((z - yb) ** 2).mean())
                dz = 2 * (z - yb) / z.size
            grads = [None] * len(w)
            for i in reversed(range(n_layers)):
                grads[2 * i], grads[2 * i + 1] = acts[i].T @ dz, dz.sum(0)
                if i:
                    dz = (dz @ w[2 * i].T) * (acts[i] > 0)
            for k in range(len(w)):  # PyTorch's form: v ← μv + g; w ← w − αv
                velocity[k] = workload.momentum * velocity[k] + grads[k]
                w[k] -= workload.learning_rate * velocity[k]
    return losses[0], w, losses


def _skip_without(path: paths.Path) -> None:
    if path.framework == "torch" and not HAS_TORCH:
        pytest.skip("PyTorch is not installed (pip install -e \".[bench]\")")


def _assert_same_training(path, workload, rows, epochs, batch_size):
    data = common.mnist_rows(256).head(rows)
    weights = common.initial_weights(workload.layers)
    first, expected, _ = numpy_reference(workload, weights, data.x, data.y, epochs, batch_size)
    result = path.run(workload, data, epochs=epochs, batch_size=batch_size, shuffle=False)
    if rows == batch_size:  # one step per epoch: the epoch's loss is that step's loss
        assert result.losses[0] == pytest.approx(first, rel=LOSS_RTOL), path.key
        assert result.losses[-1] < result.losses[0], f"{path.key} does not train"
    assert len(result.weights) == len(expected)
    for got, want in zip(result.weights, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=WEIGHT_ATOL, err_msg=path.key)


@pytest.mark.parametrize("path", paths.mlp_paths(), ids=lambda p: p.key)
def test_workload_a_path_matches_numpy_first_step_and_trains(path):
    """Same first-step loss from the same weights, loss down after 3 steps, same weights."""
    _skip_without(path)
    _assert_same_training(path, WORKLOADS["A"], rows=64, epochs=3, batch_size=64)


MULTI_STEP = ("torch.dataloader", "torch.hand", "tf.fit.tf.data.jit.spe32",
              "tf.fit.numpy.spe32", "tf.tape.function", "tf.epoch", "tf.epoch.jit")


@pytest.mark.parametrize("key", MULTI_STEP)
def test_multi_step_paths_take_every_batch_in_order(key):
    """224 rows at batch 64: three full batches then a 32-row tail, in one epoch — the
    compiled multi-step loops (steps_per_execution, a whole epoch per call) included."""
    path = paths.find(key)
    _skip_without(path)
    _assert_same_training(path, WORKLOADS["A"], rows=224, epochs=1, batch_size=64)


@pytest.mark.parametrize("key", ["torch.hand", "tf.fit.tf.data.jit.spe32", "tf.tape.function",
                                 "tf.epoch.jit"])
def test_workload_b_paths(key):
    path = paths.find(key)
    _skip_without(path)
    _assert_same_training(path, WORKLOADS["B"], rows=64, epochs=3, batch_size=64)


@pytest.mark.parametrize("path", paths.c_paths(), ids=lambda p: p.key)
def test_workload_c_path_matches_numpy(path):
    """TF1 graph, eager, tf.function (per step / all steps in one call) and PyTorch agree."""
    _skip_without(path)
    workload = WORKLOADS["C"]
    x, y = common.teacher_data(50)
    weights = common.initial_weights(workload.layers, init="normal")
    _, expected, losses = numpy_reference(workload, weights, x, y, epochs=6, batch_size=50)
    result = path.run(workload, None, epochs=2, c_steps=3, c_examples=50)
    # Run.losses of workload C: the first-step loss of each repetition (steps 1 and 4).
    assert result.losses == pytest.approx([losses[0], losses[3]], rel=LOSS_RTOL)
    assert result.losses[1] < result.losses[0]
    for got, want in zip(result.weights, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=path.key)


def test_flops_per_example_are_the_documented_ones():
    assert WORKLOADS["A"].forward_flops == 2 * (784 * 512 + 512 * 10) == 813_056
    assert WORKLOADS["A"].train_flops == 2_439_168  # ≈ 2.4 MFLOP, as in the issue
    assert WORKLOADS["B"].train_flops == 3 * 2 * (784 * 128 + 128 * 64 + 64 * 10)
    assert WORKLOADS["C"].train_flops == 3 * 2 * (10 * 20 + 20 * 5)


def test_data_is_the_bundled_sample_tiled_and_preprocessed():
    from course import data

    rows = common.mnist_rows(25_000)
    assert rows.x.shape == (25_000, 784) and rows.x.dtype == np.float32
    assert rows.y.dtype == np.int64
    np.testing.assert_array_equal(rows.images[10_000:20_000], rows.images[:10_000])
    np.testing.assert_array_equal(rows.x[:100], data.preprocess(rows.images[:100]))
    (x_train, y_train), _ = data.load_mnist()
    np.testing.assert_array_equal(rows.y[:8000], y_train)


def test_every_group_names_existing_paths():
    for group in run.GROUPS:
        chosen = group.paths()
        assert chosen, group.ident
        if group.keys is not None:
            keys_of_framework = {k for k in group.keys
                                 if k.startswith(group.framework + ".")}
            assert {p.key for p in chosen} == keys_of_framework, group.ident
    keys = [p.key for p in paths.mlp_paths()]
    assert len(keys) == len(set(keys))


def test_a_group_runs_and_the_report_renders():
    """The orchestration code path: run a tiny group in this process, render the report."""
    groups = [g for g in run.GROUPS if g.name == "C" and (g.framework == "tf" or HAS_TORCH)]
    tiny = run.Sizes(rows=128, reps=1, short_steps=2, c_steps=3, c_examples=50, peak_n=64)
    results = [run.run_group(g, tiny, log=lambda s: None) for g in groups]
    for result in results:
        assert result["peak_gflops"] > 0
        assert all(len(row["seconds"]) == 2 for row in result["rows"])
    fake_a = {**results[0], "group": "A", "workload": "A", "rows": [
        {"key": key, "label": key, "lab": "—", "jit": None, "spe": None, "batch": 64,
         "short": False, "examples_per_rep": 60_000, "seconds": [1.0, 1.0],
         "median_s": 1.0, "examples_per_s": rate, "losses": [2.3, 0.1]}
        for key, rate in (("torch.dataloader", 30_000.0), ("tf.epoch.jit", 45_000.0))]}
    meta = {"command": "python -m benchmarks", "wall_s": 1.0, "cpu": "cpu", "cores": 2,
            "python": "3", "versions": {}, "load_start": 0.1, "load_end": 0.2,
            "openblas": None, "peak_n": 64, "threads": 2}
    report = run.render([*results, fake_a], meta)
    assert "### Workload A" in report and "### Workload C" in report
    assert "| 1.50 |" in report  # 45,000 / 30,000 against the DataLoader loop


@pytest.mark.parametrize("path", paths.diagnostic_paths(), ids=lambda p: p.key)
def test_diagnostics_run(path):
    """The input-only and step-only timings run (they train nothing worth checking)."""
    _skip_without(path)
    result = path.run(WORKLOADS["A"], common.mnist_rows(128), epochs=2)
    assert len(result.seconds) == 2 and min(result.seconds) > 0


def test_the_onednn_comparison_runs_only_when_asked_for():
    default = {g.ident for g in run.select_groups(None)}
    assert "A-onednn:tf" not in default and {"A:torch", "A:tf", "C:tf", "A512:tf"} <= default
    assert [g.ident for g in run.select_groups("A-onednn")] == ["A-onednn:tf"]
    with pytest.raises(ValueError, match="unknown group"):
        run.select_groups("A,D")


def test_repetitions_are_cut_to_whole_multiples_that_fit_in_one_pass():
    assert run.repetition_steps(60_000, 64, 5) == 160  # 937 steps per epoch
    assert run.repetition_steps(60_000, 512, 5) is None  # 118 // 5 < 32: whole epochs
    assert run.repetition_steps(2_048, 64, 2) is None  # --quick: whole epochs


@pytest.mark.parametrize("key", ["torch.dataloader", "torch.hand", "tf.fit.numpy.spe1",
                                 "tf.fit.tf.data.spe1", "tf.tape.function", "tf.epoch",
                                 "tf.epoch.jit"])
def test_timed_repetitions_after_a_whole_warm_up_epoch_run_rep_steps_steps(key):
    """192 rows (3 batches), 3 epochs, rep_steps=1: a whole warm-up epoch, then one step per
    repetition, the repetitions taking consecutive batches of one more pass — and nothing
    else is trained."""
    path = paths.find(key)
    _skip_without(path)
    workload = WORKLOADS["A"]
    data = common.mnist_rows(256).head(192)
    weights = common.initial_weights(workload.layers)
    order = [0, 1, 2, 0, 1]
    rows = np.concatenate([np.arange(64 * b, 64 * b + 64) for b in order])
    _, expected, _ = numpy_reference(workload, weights, data.x[rows], data.y[rows], 1, 64)
    result = path.run(workload, data, epochs=3, batch_size=64, shuffle=False, rep_steps=1)
    assert len(result.seconds) == 3
    for got, want in zip(result.weights, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=WEIGHT_ATOL, err_msg=key)


def test_every_path_timed_by_whole_epochs_can_cut_its_repetitions():
    """``run_group`` passes ``rep_steps`` to every A/B path that is not already short."""
    import importlib
    import inspect

    for path in paths.mlp_paths() + paths.diagnostic_paths():
        if path.short or (path.framework == "torch" and not HAS_TORCH):
            continue
        module = importlib.import_module(f"benchmarks.{path.framework}_paths")
        assert "rep_steps" in inspect.signature(getattr(module, path.function)).parameters, path.key
