"""What tracing a fresh model's step once instead of twice saves (``course.tracing``).

Each case runs in a fresh process: ``course.tracing.build_before_tracing`` changes Keras for
the whole process. A case trains several fresh models and reports the median CPU seconds of one:

- ``fit``: a new 784→128→64→10 model (Adam), 2 epochs on 2,000 sample digits with validation,
  with Keras' own build ("keras") and with the kit's (``check_setup``, "course");
- ``replicas``: Lab 05's hand-written loop, 39 steps of global batch 64 on 2 simulated
  replicas, with the optimizer built in the first trace ("keras") or before it ("course").

    python -m benchmarks.tracing             # under a minute on 2 cores
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CASE = r"""
import json, resource, statistics, sys
import keras, tensorflow as tf
from course import data, devices, repro, tracing
from course.multiworker.recipe import make_train_step
case, mode, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
tf.get_logger().setLevel("ERROR")
if mode == "course":
    tracing.build_before_tracing()
(x, y), (x_test, y_test) = data.load_mnist()

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def fresh_fit():
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(data.make_pipeline(x[:2000], y[:2000]), epochs=2, verbose=0, shuffle=False,
              validation_data=data.make_pipeline(x_test, y_test, shuffle=False))

def replicas():
    strategy = devices.make_strategy(2, verbose=False)
    with strategy.scope():
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(10)])
        optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
        if mode == "course":
            optimizer.build(model.trainable_variables)
    step = make_train_step(strategy, model, optimizer, global_batch_size=64)  # Lab 05's step
    batches = data.make_pipeline(x, y, 64, drop_remainder=True).take(39)
    for xb, yb in strategy.experimental_distribute_dataset(batches):
        float(step(xb, yb))

run = {"fit": fresh_fit, "replicas": replicas}[case]
repro.set_seed(42)
run()  # warm-up: the first model of a process also pays one-off costs
costs = []
for _ in range(repeats):
    start = cpu()
    run()
    costs.append(cpu() - start)
print(json.dumps({"median": statistics.median(costs), "all": costs}))
"""


def measure(case: str, mode: str, repeats: int) -> dict[str, float]:
    """Run ``case`` ("fit" or "replicas") in a fresh process; return its CPU seconds per model."""
    done = subprocess.run([sys.executable, "-c", CASE, case, mode, str(repeats)],
                          capture_output=True, text=True, check=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Print a Markdown table: CPU seconds per fresh model, Keras' build against the kit's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="models measured per case and mode")
    args = parser.parse_args(argv)
    print("| case | Keras' own build (CPU-s) | built before tracing (CPU-s) | saved |")
    print("|---|---:|---:|---:|")
    for case in ("fit", "replicas"):
        keras_own, course = (measure(case, mode, args.repeats)["median"]
                             for mode in ("keras", "course"))
        print(f"| {case} | {keras_own:.2f} | {course:.2f} | {1 - course / keras_own:.0%} |")


if __name__ == "__main__":
    main()
