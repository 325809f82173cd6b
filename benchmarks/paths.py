"""The catalogue of measured paths: what each one is, which lab teaches it, how to run it.

Framework modules are imported only when a path runs, so listing the catalogue is cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from .common import C_EXAMPLES, C_STEPS, Data, Run, Workload, initial_weights, teacher_data


@dataclass(frozen=True)
class Path:
    """One way of training a workload."""

    key: str  # unique within a workload, e.g. "tf.fit.data.jit.spe32"
    framework: str  # "torch" or "tf"
    label: str  # shown in the table
    lab: str  # which lab path it corresponds to
    function: str  # name in torch_paths / tf_paths
    options: dict = field(default_factory=dict)
    short: bool = False  # slow path: repetitions of 100 steps instead of an epoch
    jit: bool | None = None  # for the table; None when it does not apply
    spe: int | None = None  # steps_per_execution, None when it does not apply

    def run(self, workload: Workload, data: Data | None, epochs: int,
            batch_size: int | None = None, shuffle: bool = True,
            c_steps: int = C_STEPS, c_examples: int = C_EXAMPLES,
            rep_steps: int | None = None) -> Run:
        """Train ``workload`` with this path; ``epochs`` repetitions, the first a warm-up.

        ``rep_steps`` (workloads A and B, paths that run whole epochs): the warm-up is a
        whole epoch, each later repetition only its first ``rep_steps`` steps."""
        module = importlib.import_module(f"benchmarks.{self.framework}_paths")
        function = getattr(module, self.function)
        if workload.name == "C":
            x, y = teacher_data(c_examples)
            weights = initial_weights(workload.layers, init="normal")
            return function(x, y, workload, weights, reps=epochs, steps=c_steps, **self.options)
        weights = initial_weights(workload.layers)
        cut = {"rep_steps": rep_steps} if rep_steps and not self.short else {}
        return function(data, workload, weights, epochs, batch_size=batch_size,
                        shuffle=shuffle, **self.options, **cut)


DATALOADER = "torch.dataloader"  # the reference every ratio is taken against (A and B)
TORCH_C = "torch.loop"  # the reference of workload C

_LAB04 = "Lab 04 `@tf.function` train_step"


def mlp_paths() -> list[Path]:
    """The paths of workloads A and B."""
    paths = [
        Path(DATALOADER, "torch", "PyTorch, the articles' `DataLoader` loop",
             "the articles (reference)", "dataloader_loop"),
        Path("torch.hand", "torch", "PyTorch, hand-batched (`x[randperm]` slices)",
             "—", "hand_batched_loop"),
        Path("tf.fit.lab01", "tf", "Keras `fit`, Lab 01 as written (no cache, accuracy metric)",
             "Lab 01 `model.fit(train_ds)`", "keras_fit", {"source": "lab01"}, jit=False, spe=1),
    ]
    for source, name in (("numpy", "NumPy arrays"), ("tf.data", "`make_pipeline`")):
        for jit in (False, True):
            for spe in (1, 32):
                paths.append(Path(
                    f"tf.fit.{source}{'.jit' if jit else ''}.spe{spe}", "tf",
                    f"Keras `fit` on {name}", "Lab 01/02 `fit`" if source == "tf.data" else "—",
                    "keras_fit",
                    {"source": source, "jit_compile": jit, "steps_per_execution": spe},
                    jit=jit, spe=spe))
    paths += [
        Path("tf.tape.eager", "tf", "GradientTape loop, eager", "Lab 04 before `tf.function`",
             "tape_loop", {"compiled": False}, short=True, jit=False),
        Path("tf.tape.function", "tf", "GradientTape step in `tf.function`, loop over tf.data",
             _LAB04, "tape_loop", {"compiled": True, "jit_compile": False}, jit=False),
        Path("tf.tape.function.jit", "tf", "GradientTape step in `tf.function`, loop over tf.data",
             _LAB04 + " `jit_compile=True`", "tape_loop",
             {"compiled": True, "jit_compile": True}, jit=True),
        Path("tf.epoch", "tf", "GradientTape, whole epoch per `tf.function` call (in memory)",
             "Lab 04 §8 `course.loops.epoch_trainer`", "graph_epoch_loop", {"jit_compile": False},
             jit=False),
        Path("tf.epoch.jit", "tf", "GradientTape, whole epoch per `tf.function` call (in memory)",
             "Lab 04 §8 `course.loops.epoch_trainer`", "graph_epoch_loop", {"jit_compile": True},
             jit=True),
    ]
    return paths


def diagnostic_paths() -> list[Path]:
    """Not training paths: the input pipeline alone, the steps alone (workload A, batch 64)."""
    return [
        Path("torch.diag.data", "torch", "`DataLoader` iteration only", "—",
             "dataloader_iterate"),
        Path("torch.diag.step", "torch", "training steps only, one batch in memory", "—",
             "step_on_one_batch", short=True),
        Path("tf.diag.data", "tf", "`make_pipeline` iteration only (from Python)", "—",
             "tfdata_iterate"),
        Path("tf.diag.step", "tf", "training steps only, one `tf.function` call per step", "—",
             "step_on_one_batch", {"jit_compile": False}, short=True, jit=False),
        Path("tf.diag.step.jit", "tf", "training steps only, one `tf.function` call per step",
             "—", "step_on_one_batch", {"jit_compile": True}, short=True, jit=True),
        Path("tf.diag.loop", "tf", "training steps only, all in one `tf.function` call", "—",
             "step_on_one_batch", {"in_graph": True}, short=True, jit=False),
        Path("tf.diag.loop.jit", "tf", "training steps only, all in one `tf.function` call",
             "—", "step_on_one_batch", {"in_graph": True, "jit_compile": True}, short=True,
             jit=True),
    ]


def c_paths() -> list[Path]:
    """The paths of workload C."""
    return [
        Path(TORCH_C, "torch", "PyTorch loop", "the articles' style (reference)",
             "full_batch_loop"),
        Path("tf.v1", "tf", "TF1 graph + `Session.run` per step (`tf.compat.v1`)",
             "Lab 03 reference program", "tf1_graph"),
        Path("tf.eager", "tf", "TF2 eager GradientTape + `assign_sub`", "Lab 03 TF2 rebuild",
             "tf2_full_batch", {"mode": "eager"}, jit=False),
        Path("tf.function", "tf", "TF2 step in `tf.function`, one call per step",
             "Lab 03 `@tf.function`", "tf2_full_batch", {"mode": "function"}, jit=False),
        Path("tf.function.jit", "tf", "TF2 step in `tf.function`, one call per step",
             "—", "tf2_full_batch", {"mode": "function", "jit_compile": True}, jit=True),
        Path("tf.loop", "tf", "TF2, all steps in one `tf.function` call (`tf.range`)",
             "proposed", "tf2_full_batch", {"mode": "loop"}, jit=False),
        Path("tf.loop.jit", "tf", "TF2, all steps in one `tf.function` call (`tf.range`)",
             "proposed", "tf2_full_batch", {"mode": "loop", "jit_compile": True}, jit=True),
    ]


def find(key: str, workload: str = "A") -> Path:
    """The path called ``key``."""
    for path in c_paths() if workload == "C" else mlp_paths():
        if path.key == key:
            return path
    raise KeyError(key)
