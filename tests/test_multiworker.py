"""``course.multiworker``: two workers on loopback that finish, the kill-and-resume scenario,
and no process left behind — whether the run ends, fails, times out or its launcher dies.

The runs use a small recipe (1,024 training digits, 2 epochs of 16 steps, a checkpoint every
5 steps), so each costs mostly the workers' TensorFlow start-up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course import multiworker
from course.multiworker import Cluster, ClusterError
from course.multiworker.watchdog import watch
from course.multiworker.worker import _one_line

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"train_examples": 1024, "epochs": 2, "save_every": 5}
STEPS = 2 * 1024 // 64


def _gone(pids, within: float = 15.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not any(multiworker.alive(pid) for pid in pids):
            return True
        time.sleep(0.2)
    return False


# --- the pieces ----------------------------------------------------------------------------------

def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = multiworker.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_tf_config_names_the_cluster_and_the_task():
    config = json.loads(multiworker.tf_config(["127.0.0.1:1", "127.0.0.1:2"], 1))
    assert config == {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                      "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError):
        multiworker.tf_config(["127.0.0.1:1"], 1)


def test_newest_common_step():
    assert multiworker.newest_common_step([[5, 10, 15], [10, 15, 20]]) == 15
    assert multiworker.newest_common_step([[20, 5, 10], [5, 10]]) == 10
    assert multiworker.newest_common_step([[5], [10]]) is None
    assert multiworker.newest_common_step([]) is None


def test_read_log_skips_a_line_cut_short_by_a_kill(tmp_path):
    path = tmp_path / "w.jsonl"
    path.write_text('{"event": "step", "step": 1}\n{"event": "st')
    assert multiworker.read_log(path) == [{"event": "step", "step": 1}]
    assert multiworker.read_log(tmp_path / "missing.jsonl") == []


def test_the_fit_error_is_summarised_without_the_dumped_values():
    exc = ValueError("Attempt to convert a value (PerReplica:{\n  0: <tf.Tensor: numpy=array("
                     "[[0.1, 0.2]])>\n}) with an unsupported type (<class 'tensorflow.python."
                     "distribute.values.PerReplica'>) to a Tensor.")
    assert _one_line(exc) == (
        "ValueError: Attempt to convert a value (PerReplica:{…}) with an unsupported type "
        "(<class 'tensorflow.python.distribute.values.PerReplica'>) to a Tensor.")


def test_the_launcher_and_the_watchdog_never_import_tensorflow():
    code = ("import sys, course.multiworker, course.multiworker.watchdog; "
            "print(sorted({'tensorflow', 'keras'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_the_worker_sets_a_short_heartbeat_timeout_before_the_strategy_does():
    # MultiWorkerMirroredStrategy configures the coordination service only if nothing has:
    # the worker's configuration (same leader and jobs, a 3 s heartbeat instead of 10 s) is
    # what a killed worker's peer waits on before it fails.
    code = textwrap.dedent("""
        import json, os
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                                              "task": {"type": "worker", "index": 1}})
        import tensorflow as tf
        from tensorflow.python.eager import context
        from course.multiworker.worker import HEARTBEAT_TIMEOUT_MS, _configure_coordination
        _configure_coordination(tf)
        config = context.context()._coordination_service_config
        jobs = [(j.name, j.num_tasks) for j in config.coordinated_job_list]
        print(json.dumps([config.heartbeat_timeout_in_ms, HEARTBEAT_TIMEOUT_MS,
                          config.service_leader, jobs]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=True)
    timeout_ms, constant, leader, jobs = json.loads(done.stdout.strip().splitlines()[-1])
    assert timeout_ms == constant == 3000
    assert leader == "/job:worker/replica:0/task:0" and jobs == [["worker", 2]]


def test_a_worker_imports_tensorflow_and_keras_without_matplotlib():
    code = ("import sys; from course.multiworker.worker import skip_plotting; skip_plotting(); "
            "import tensorflow, keras; keras.layers.Dense(3); "
            "print(sorted(m for m, v in sys.modules.items() if m.startswith('matplotlib') and v))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_cluster_rejects_unknown_options(tmp_path):
    with pytest.raises(TypeError, match="unknown training options"):
        Cluster(tmp_path, learning_rat=0.1)


def test_single_device_evaluation_is_plain_numpy():
    import numpy as np

    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(784, 4)), np.zeros(4), rng.normal(size=(4, 10)), np.zeros(10)]
    images = rng.integers(0, 256, (5, 28, 28)).astype("uint8")
    loss, accuracy = multiworker.evaluate(weights, images, np.arange(5))
    assert np.isfinite(loss) and loss > 0 and 0.0 <= accuracy <= 1.0


# --- processes always stop -----------------------------------------------------------------------

def test_workers_are_stopped_when_the_with_block_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with Cluster(tmp_path, **SMALL) as cluster:
            cluster.start()
            pids = cluster.pids
            raise RuntimeError("boom")
    assert len(pids) == 2 and _gone(pids, within=1.0)


def test_a_run_that_times_out_raises_and_leaves_nothing(tmp_path):
    started = time.monotonic()
    with pytest.raises(ClusterError, match="timed out after 3 s"):
        with Cluster(tmp_path, **SMALL) as cluster:
            cluster.start()
            pids = cluster.pids
            cluster.wait_for_step(1, 10**6, timeout=3)
    assert time.monotonic() - started < 20
    assert _gone(pids, within=1.0)


def test_workers_exit_by_themselves_when_their_launcher_dies(tmp_path):
    launcher = textwrap.dedent(f"""
        import os, sys
        from course.multiworker import Cluster
        cluster = Cluster({str(tmp_path)!r}, train_examples=1024).start()
        print(*cluster.pids); sys.stdout.flush()
        os._exit(0)  # no clean-up: the kernel crashed
    """)
    out = subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True,
                         timeout=60, cwd=ROOT).stdout
    pids = [int(p) for p in out.split()]
    assert len(pids) == 2
    assert _gone(pids, within=30.0), "orphaned workers kept running"


@pytest.mark.parametrize("deadline", [3, 15])
def test_a_worker_started_with_a_deadline_stops_at_it(tmp_path, deadline):
    """Alone, a worker waits for its peer forever, but not past its deadline.

    At 15 s it is blocked inside TensorFlow's cluster set-up, which holds the GIL and
    ignores SIGTERM: a watchdog thread in the worker never woke up there.
    """
    env = {**os.environ, "TF_CONFIG": multiworker.tf_config(
        [f"127.0.0.1:{p}" for p in multiworker.free_ports(2)], 0)}
    log = tmp_path / "alone.jsonl"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "course.multiworker", "--workdir",
                           str(tmp_path), "--log", str(log), "--deadline", str(deadline)],
                          env=env, capture_output=True, timeout=deadline + 45, cwd=tmp_path)
    assert done.returncode == -signal.SIGKILL
    assert deadline <= time.monotonic() - started
    events = multiworker.read_log(log)
    assert [e["event"] for e in events] == ["started", "stopped"]
    assert events[-1]["reason"] == f"deadline of {deadline} s passed"


def test_the_watchdog_leaves_a_worker_that_ends_in_time_alone(tmp_path):
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    log = tmp_path / "w.jsonl"
    assert watch([str(worker.pid), str(os.getpid()), "30", str(log), "0"], poll_s=0.05) == 0
    assert worker.wait(timeout=5) == 0 and not log.exists()


def test_the_watchdog_stops_a_worker_whose_launcher_is_gone(tmp_path):
    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    log = tmp_path / "w.jsonl"
    try:
        assert watch([str(worker.pid), str(launcher.pid), "0", str(log), "1"], poll_s=0.05) == 1
        assert worker.wait(timeout=5) == -signal.SIGKILL
    finally:
        worker.kill()
        launcher.wait()
    (event,) = multiworker.read_log(log)
    assert event["event"] == "stopped" and event["reason"] == "launcher gone"
    assert event["worker"] == 1


# --- real runs on loopback -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return multiworker.train(tmp_path_factory.mktemp("uninterrupted"), check_fit=True, **SMALL)


def test_two_workers_on_loopback_finish(uninterrupted):
    assert uninterrupted.finished
    for worker in uninterrupted.workers:
        assert worker.exit_code == 0 and worker.first_step == 1 and worker.last_step == STEPS
        assert worker.restored_step is None and worker.local_checkpoints == []
        assert worker.saved_steps == [5, 10, 15, 20, 25, 30, 32]
    results = [w.result for w in uninterrupted.workers]
    assert results[0]["weights_sum"] == results[1]["weights_sum"]  # mirrored to the last bit
    assert multiworker.stray_workers(uninterrupted) == []
    assert set(uninterrupted.losses(0)) == set(range(1, STEPS + 1))
    # per-worker checkpoint folders, the newest three kept
    for index in (0, 1):
        folder = uninterrupted.workdir / "checkpoints" / f"worker{index}"
        assert multiworker.checkpoint_steps(folder) == [25, 30, 32]


def test_fit_is_rechecked_and_the_workers_go_on(uninterrupted):
    works, error = uninterrupted.fit_check()
    if not works:  # keras-team/keras#20585 (Keras 3.15)
        assert "PerReplica" in error and "unsupported type" in error
    assert uninterrupted.finished


def test_kill_and_resume_matches_the_uninterrupted_run_and_one_device(uninterrupted, tmp_path):
    crashed = multiworker.train(tmp_path, run="crash", kill_worker=1, kill_at_step=12, **SMALL)
    killed, survivor = crashed.workers[1], crashed.workers[0]
    assert killed.killed and killed.exit_code == -9 and 12 <= killed.last_step < STEPS
    assert not survivor.finished and survivor.exit_code is not None
    assert survivor.last_step <= killed.last_step + 1  # it cannot pass its peer's all-reduce

    resumed = multiworker.train(tmp_path, run="resume", **SMALL)
    assert resumed.finished
    restored = [w.restored_step for w in resumed.workers]
    on_disk = [w.local_checkpoints for w in resumed.workers]
    assert restored[0] == restored[1] == multiworker.newest_common_step(on_disk)
    assert restored[0] >= 5 and restored[0] % 5 == 0
    assert all(w.first_step == restored[0] + 1 and w.last_step == STEPS for w in resumed.workers)
    # the same final weights as without the crash, to the last bit
    for key in ("test_loss", "weights_sum", "weights_abs_sum"):
        assert resumed.workers[0].result[key] == uninterrupted.workers[0].result[key], key
    # the losses logged after the restart are those of the uninterrupted run
    reference = uninterrupted.losses(0)
    assert all(loss == reference[step] for step, loss in resumed.losses(0).items())
    assert multiworker.stray_workers(uninterrupted, crashed, resumed) == []

    single = multiworker.train_single_device(**SMALL)
    assert single["steps"] == STEPS
    assert multiworker.close(single["test_loss"], uninterrupted.workers[0].result["test_loss"],
                             1e-5)
