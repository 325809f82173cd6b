"""Run the benchmark: ``python -m benchmarks`` (``--quick`` for a smoke run).

The run is a sequence of groups; each group runs in a fresh subprocess (one framework, one
workload), so PyTorch's and TensorFlow's thread pools never compete, XLA caches start empty
and the oneDNN switch can differ per group. Groups of the two frameworks alternate, so both
sides of every ratio are measured minutes apart, not a whole run apart. Each worker also
measures the float32 matmul rate of its framework; the machine's peak is the best of them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path as FsPath

from . import paths as catalogue
from .common import C_EXAMPLES, C_STEPS, N_ROWS, THREADS, WORKLOADS, load_average, mnist_rows

SHORT_STEPS = 100  # steps per repetition of the slow (eager) paths and the diagnostics
REP_MULTIPLE = 32  # timed repetitions are whole multiples of steps_per_execution=32


@dataclass(frozen=True)
class Group:
    """One worker process: a framework, a workload, a batch size, some paths."""

    name: str  # "A", "B", "C", "A512", "A-onednn"
    framework: str
    workload: str
    batch_size: int | None
    keys: tuple[str, ...] | None = None  # None: every path of the framework
    onednn: bool = False
    default: bool = True  # run without --only (False: only when asked for by name)

    @property
    def ident(self) -> str:
        return f"{self.name}:{self.framework}"

    def paths(self) -> list[catalogue.Path]:
        every = catalogue.c_paths() if self.workload == "C" else catalogue.mlp_paths()
        if self.workload == "A":
            every = every + catalogue.diagnostic_paths()
        chosen = [p for p in every if p.framework == self.framework]
        if self.keys is not None:
            chosen = [p for p in chosen if p.key in self.keys]
        return chosen


BEST_512 = ("torch.dataloader", "torch.hand", "tf.fit.tf.data.jit.spe32", "tf.epoch.jit")
ONEDNN = ("tf.fit.tf.data.jit.spe32", "tf.epoch", "tf.epoch.jit", "tf.diag.step",
          "tf.diag.loop.jit")
GROUPS = [
    Group("A", "torch", "A", 64), Group("A", "tf", "A", 64),
    Group("B", "torch", "B", 64), Group("B", "tf", "B", 64),
    Group("C", "torch", "C", None), Group("C", "tf", "C", None),
    Group("A512", "torch", "A", 512, BEST_512), Group("A512", "tf", "A", 512, BEST_512),
    Group("A-onednn", "tf", "A", 64, ONEDNN, onednn=True, default=False),
]


@dataclass(frozen=True)
class Sizes:
    rows: int
    reps: int  # timed repetitions after the warm-up
    short_steps: int
    c_steps: int
    c_examples: int
    peak_n: int


FULL = Sizes(N_ROWS, 5, SHORT_STEPS, C_STEPS, C_EXAMPLES, 2048)
QUICK = Sizes(2048, 2, 10, 50, C_EXAMPLES, 512)


# --- worker ---------------------------------------------------------------------------------

def repetition_steps(rows: int, batch_size: int, reps: int) -> int | None:
    """Steps per timed repetition: all ``reps`` fit in one pass over the data, in whole
    multiples of :data:`REP_MULTIPLE`; None (whole epochs) when that is under one multiple.

    60,000 rows at batch 64: 937 steps per epoch → 5 repetitions of 160 steps (10,240 rows).
    """
    steps = (-(-rows // batch_size) // reps) // REP_MULTIPLE * REP_MULTIPLE
    return steps or None


def run_group(group: Group, sizes: Sizes, log=print, threads: int = THREADS) -> dict:
    """Run every path of ``group`` in this process and return its JSON-able results."""
    framework = __import__(f"benchmarks.{group.framework}_paths", fromlist=["setup"])
    version = framework.setup(threads)
    workload = WORKLOADS[group.workload]
    load_before = load_average()
    peak = framework.matmul_gflops(sizes.peak_n, sizes.peak_n, sizes.peak_n, reps=5)
    first_layer = workload.layers[:2]
    gemm = None if group.workload == "C" else framework.matmul_gflops(
        group.batch_size, first_layer[1], first_layer[0], reps=20)
    data = None if group.workload == "C" else mnist_rows(sizes.rows)
    rows = []
    for path in group.paths():
        batch = group.batch_size or workload.batch_size
        rep_steps = None
        if group.workload == "C":
            subset, examples = None, sizes.c_steps * sizes.c_examples
        elif path.short:
            subset = data.head(min(len(data), sizes.short_steps * batch))
            examples = len(subset)
        else:
            subset = data
            rep_steps = repetition_steps(len(data), batch, sizes.reps)
            examples = rep_steps * batch if rep_steps else len(data)
        gc.collect()  # release the previous path's datasets, iterators and models first
        if group.framework == "tf":
            import keras

            keras.backend.clear_session()
        started = time.perf_counter()
        run = path.run(workload, subset, epochs=1 + sizes.reps, batch_size=group.batch_size,
                       c_steps=sizes.c_steps, c_examples=sizes.c_examples,
                       rep_steps=rep_steps)
        rate = examples / run.median_s
        rows.append({
            "key": path.key, "diagnostic": ".diag." in path.key, "label": path.label,
            "lab": path.lab, "jit": path.jit,
            "spe": path.spe, "batch": batch if group.workload != "C" else sizes.c_examples,
            "short": path.short, "examples_per_rep": examples, "seconds": run.seconds,
            "median_s": run.median_s, "examples_per_s": rate, "losses": run.losses,
            "best_examples_per_s": examples / min(run.seconds[1:] or run.seconds),
            "wall_s": time.perf_counter() - started,
        })
        losses = f"loss {run.losses[0]:.4f} → {run.losses[-1]:.4f}" if run.losses else ""
        log(f"  {group.ident:<14} {path.key:<28} {rate:>12,.0f} ex/s   "
            f"warm-up {run.seconds[0]:6.2f} s, median {run.median_s:7.3f} s, {losses}")
    return {
        "group": group.name, "framework": group.framework, "workload": group.workload,
        "batch": group.batch_size, "onednn": group.onednn, "version": version,
        "peak_gflops": peak, "gemm_gflops": gemm, "gemm_shape": [group.batch_size, *first_layer],
        "load_before": load_before, "load_after": load_average(), "threads": threads,
        "rows": rows,
    }


# --- report ---------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in FsPath("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(rate: float) -> str:
    return f"{rate:,.0f}"


def _flag(value) -> str:
    return "—" if value is None else ("yes" if value is True else "no" if value is False
                                      else str(value))


def _reps_phrase(row: dict) -> str:
    return f"batch {row['batch']}: {row['examples_per_rep']:,} rows each"


def render(results: list[dict], meta: dict) -> str:
    """The Markdown report: machine, command, peak, then one table per workload."""
    peak = max(r["peak_gflops"] for r in results)
    lines = [
        f"- Command: `{meta['command']}`; total wall time {meta['wall_s']:.0f} s",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores visible, {meta['threads']} threads per "
        f"framework; Python {meta['python']}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(meta["versions"].items())),
        f"- Load (1-min average, `uptime`): {meta['load_start']:.2f} at start, "
        f"{meta['load_end']:.2f} at end; per group: "
        + ", ".join(f"{r['group']}:{r['framework']} {r['load_before']:.2f}→{r['load_after']:.2f}"
                    for r in results),
        f"- OPENBLAS_CORETYPE={meta['openblas'] or 'unset'}; TF_ENABLE_ONEDNN_OPTS=0 (the kit's "
        "setting) except the oneDNN table",
        "- float32 matmul peak (best of 5, "
        f"{meta['peak_n']}³): " + ", ".join(
            f"{r['framework']}{' oneDNN' if r['onednn'] else ''} {r['peak_gflops']:.0f}"
            for r in _unique_peaks(results)) + f" GFLOP/s → peak used: **{peak:.0f} GFLOP/s**",
        "- Repetitions (A, B): a warm-up epoch of all rows, then 5 timed repetitions — "
        + "; ".join(sorted({_reps_phrase(row) for r in results for row in r["rows"]
                            if r["workload"] != "C" and not row["short"]})),
        "- GEMM rate at the first layer's shape (batch × 784 · 784 × units): " + ", ".join(
            f"{r['group']}:{r['framework']} {r['gemm_gflops']:.0f}" for r in results
            if r.get("gemm_gflops")) + " GFLOP/s",
        "",
    ]
    for name in ("A", "B"):
        lines += _mlp_table(name, [r for r in results if r["group"] == name], peak)
    lines += _diagnostic_table(results, peak)
    lines += _c_table([r for r in results if r["group"] == "C"], peak)
    lines += _batch_table(results, peak)
    lines += _onednn_table(results)
    return "\n".join(lines)


def _unique_peaks(results: list[dict]) -> list[dict]:
    best: dict[tuple, dict] = {}
    for r in results:
        key = (r["framework"], r["onednn"])
        if key not in best or r["peak_gflops"] > best[key]["peak_gflops"]:
            best[key] = r
    return list(best.values())


def _rows(results: list[dict]) -> list[dict]:
    return [row for r in results for row in r["rows"]]


def _best(row: dict) -> float:
    """Examples/s of the fastest timed repetition: the least disturbed by other load."""
    return row.get("best_examples_per_s", row["examples_per_s"])


def _mlp_table(name: str, results: list[dict], peak: float) -> list[str]:
    if not results:
        return []
    workload = WORKLOADS[name]
    rows = [r for r in _rows(results) if not r.get("diagnostic")]
    ref = next((r["examples_per_s"] for r in rows if r["key"] == catalogue.DATALOADER), None)
    best_ref = next((_best(r) for r in rows if r["key"] == catalogue.DATALOADER), None)
    out = [f"### Workload {name}: {workload.about}",
           "",
           f"{workload.train_flops / 1e6:.2f} MFLOP per training example "
           f"(forward {workload.forward_flops:,} = Σ 2·in·out; training ≈ 3× forward).",
           "",
           "| path | lab | jit | spe | examples/s | × DataLoader | % of peak | best rep ex/s "
           "| × DataLoader (best) | last loss |",
           "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = f"{r['examples_per_s'] / ref:.2f}" if ref else "—"
        pct = 100 * r["examples_per_s"] * workload.train_flops / (peak * 1e9)
        label = r["label"] + (f" ({r['examples_per_rep']:,}-example reps)" if r["short"] else "")
        best_ratio = f"{_best(r) / best_ref:.2f}" if best_ref else "—"
        out.append(f"| {label} | {r['lab']} | {_flag(r['jit'])} | {_flag(r['spe'])} | "
                   f"{_fmt(r['examples_per_s'])} | {ratio} | {pct:.1f} % | "
                   f"{_fmt(_best(r))} | {best_ratio} | {r['losses'][-1]:.3f} |")
    return out + [""]


def _diagnostic_table(results: list[dict], peak: float) -> list[str]:
    rows = [r for r in _rows([r for r in results if r["group"] == "A"]) if r.get("diagnostic")]
    if not rows:
        return []
    workload = WORKLOADS["A"]
    out = ["### Where a step's time goes (workload A, batch 64)",
           "",
           "An epoch's worth of work split in two: iterating the input pipeline with no "
           "training, and the training steps with no input pipeline (every step on one "
           "batch already in memory).",
           "",
           "| part | jit | µs per step | examples/s | % of peak |",
           "|---|---|---:|---:|---:|"]
    for r in rows:
        steps = -(-r["examples_per_rep"] // r["batch"])
        pct = 100 * r["examples_per_s"] * workload.train_flops / (peak * 1e9)
        out.append(f"| {r['label']} ({r['key'].split('.')[0]}) | {_flag(r['jit'])} | "
                   f"{1e6 * r['median_s'] / steps:,.0f} | {_fmt(r['examples_per_s'])} | "
                   + (f"{pct:.1f} % |" if ".step" in r["key"] or ".loop" in r["key"]
                      else "— |"))
    return out + [""]


def _c_table(results: list[dict], peak: float) -> list[str]:
    if not results:
        return []
    workload = WORKLOADS["C"]
    rows = _rows(results)
    ref = next((r["examples_per_s"] for r in rows if r["key"] == catalogue.TORCH_C), None)
    out = [f"### Workload C: {workload.about}",
           "",
           f"{workload.train_flops:,} FLOP per example per step; one step of {C_EXAMPLES:,} "
           f"rows is {workload.train_flops * C_EXAMPLES / 1e6:.1f} MFLOP.",
           "",
           "| path | lab | jit | steps/s | examples/s | × PyTorch | % of peak | "
           f"first-step loss | loss after {_c_trained_steps(rows):,} steps |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        steps_s = r["examples_per_s"] / r["batch"]
        ratio = f"{r['examples_per_s'] / ref:.2f}" if ref else "—"
        pct = 100 * r["examples_per_s"] * workload.train_flops / (peak * 1e9)
        out.append(f"| {r['label']} | {r['lab']} | {_flag(r['jit'])} | {steps_s:,.0f} | "
                   f"{_fmt(r['examples_per_s'])} | {ratio} | {pct:.2f} % | "
                   f"{r['losses'][0]:.4f} | {r['losses'][-1]:.4f} |")
    return out + [""]


def _c_trained_steps(rows: list[dict]) -> int:
    """Steps taken before the last repetition's first step (where its loss is read)."""
    row = rows[0]
    return (len(row["losses"]) - 1) * row["examples_per_rep"] // row["batch"]


def _batch_table(results: list[dict], peak: float) -> list[str]:
    big = _rows([r for r in results if r["group"] == "A512"])
    if not big:
        return []
    small = {r["key"]: r for r in _rows([r for r in results if r["group"] == "A"])}
    workload = WORKLOADS["A"]
    ref = {r["group"]: next((x["examples_per_s"] for x in r["rows"]
                             if x["key"] == catalogue.DATALOADER), None)
           for r in results if r["framework"] == "torch"}
    out = ["### Batch 64 vs 512 (workload A): per-step overhead",
           "",
           "| path | jit | spe | batch 64 ex/s | batch 512 ex/s | 512 ÷ 64 | "
           "512: × DataLoader-512 | 512: % of peak | 64: est. overhead µs/step |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in big:
        s = small.get(r["key"])
        r64 = s["examples_per_s"] if s else None
        pct = 100 * r["examples_per_s"] * workload.train_flops / (peak * 1e9)
        ratio = (f"{r['examples_per_s'] / ref['A512']:.2f}" if ref.get("A512") else "—")
        # t(b) = overhead + b / r_inf; two batch sizes give both unknowns.
        overhead = "—"
        if r64:
            t64, t512 = 64 / r64, 512 / r["examples_per_s"]
            per_example = (t512 - t64) / (512 - 64)
            overhead = f"{1e6 * (t64 - 64 * per_example):,.0f}"
        out.append(f"| {r['label']} | {_flag(r['jit'])} | {_flag(r['spe'])} | "
                   f"{_fmt(r64) if r64 else '—'} | {_fmt(r['examples_per_s'])} | "
                   f"{r['examples_per_s'] / r64:.2f} | {ratio} | {pct:.1f} % | {overhead} |"
                   if r64 else
                   f"| {r['label']} | {_flag(r['jit'])} | {_flag(r['spe'])} | — | "
                   f"{_fmt(r['examples_per_s'])} | — | {ratio} | {pct:.1f} % | — |")
    return out + [""]


def _onednn_table(results: list[dict]) -> list[str]:
    on = _rows([r for r in results if r["group"] == "A-onednn"])
    if not on:
        return []
    off = {r["key"]: r for r in _rows([r for r in results if r["group"] == "A"])}
    out = ["### oneDNN off (the kit's default) vs on, workload A, batch 64",
           "",
           "| path | jit | spe | oneDNN off ex/s | oneDNN on ex/s | on ÷ off |",
           "|---|---|---|---:|---:|---:|"]
    for r in on:
        o = off.get(r["key"])
        base = o["examples_per_s"] if o else None
        out.append(f"| {r['label']} | {_flag(r['jit'])} | {_flag(r['spe'])} | "
                   f"{_fmt(base) if base else '—'} | {_fmt(r['examples_per_s'])} | "
                   f"{r['examples_per_s'] / base:.2f} |" if base else
                   f"| {r['label']} | {_flag(r['jit'])} | {_flag(r['spe'])} | — | "
                   f"{_fmt(r['examples_per_s'])} | — |")
    return out + [""]


# --- orchestration --------------------------------------------------------------------------

def select_groups(only: str | None) -> list[Group]:
    """The groups to run: ``only`` names them (comma-separated), else every default group."""
    if not only:
        return [g for g in GROUPS if g.default]
    wanted = set(only.split(","))
    unknown = wanted - {g.name for g in GROUPS}
    if unknown:
        raise ValueError(f"unknown group(s): {', '.join(sorted(unknown))}")
    return [g for g in GROUPS if g.name in wanted]


def _worker_env(group: Group) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["TF_ENABLE_ONEDNN_OPTS"] = "1" if group.onednn else "0"
    return env


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (2,048 rows, 2 repetitions): a smoke run, not numbers")
    parser.add_argument("--only", default=None,
                        help="comma-separated groups to run: " + ", ".join(
                            sorted({g.name for g in GROUPS})) + " (default: all but "
                        + ", ".join(g.name for g in GROUPS if not g.default) + ")")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"threads per framework (default {THREADS}, the issue's setting)")
    parser.add_argument("--markdown", type=FsPath, help="also write the report to this file")
    parser.add_argument("--json", type=FsPath, help="also write the raw results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=FsPath, help=argparse.SUPPRESS)
    return parser


def _run_workers(groups: list[Group], args: argparse.Namespace) -> list[dict] | int:
    """Run each group in a process of its own; return their results, or the exit status of
    the first that failed."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for group in groups:
            out = FsPath(tmp) / f"{group.name}-{group.framework}.json"
            cmd = [sys.executable, "-m", "benchmarks", "--worker", group.ident, "--out", str(out),
                   "--threads", str(args.threads)]
            if args.quick:
                cmd.append("--quick")
            done = subprocess.run(cmd, env=_worker_env(group), stdout=subprocess.DEVNULL)
            if done.returncode != 0:
                print(f"group {group.ident} failed (exit {done.returncode})", file=sys.stderr)
                return done.returncode
            results.append(json.loads(out.read_text()))
    return results


def _versions(results: list[dict]) -> dict[str, str]:
    versions = {"numpy": __import__("numpy").__version__}
    for r in results:
        versions["PyTorch" if r["framework"] == "torch" else "TensorFlow"] = r["version"]
    try:  # the parent process never imports TensorFlow
        versions["Keras"] = metadata.version("keras")
    except metadata.PackageNotFoundError:
        pass
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    if args.worker:
        group = next(g for g in GROUPS if g.ident == args.worker)
        result = run_group(group, sizes, log=lambda s: print(s, file=sys.stderr, flush=True),
                           threads=args.threads)
        args.out.write_text(json.dumps(result))
        return 0

    try:
        groups = select_groups(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    command = "python -m benchmarks" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if args.only else "") + (
        f" --threads {args.threads}" if args.threads != THREADS else "")
    start, load_start = time.perf_counter(), load_average()
    print(f"{command}: {len(groups)} groups, load {load_start:.2f}", file=sys.stderr)
    results = _run_workers(groups, args)
    if isinstance(results, int):
        return results
    meta = {
        "command": command, "wall_s": time.perf_counter() - start, "cpu": _cpu_model(),
        "cores": os.cpu_count(), "python": platform.python_version(),
        "versions": _versions(results),
        "load_start": load_start, "load_end": load_average(),
        "openblas": os.environ.get("OPENBLAS_CORETYPE"), "peak_n": sizes.peak_n,
        "quick": args.quick, "threads": args.threads,
    }
    report = render(results, meta)
    print(report)
    if args.markdown:
        args.markdown.write_text(report + "\n")
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
