"""Several worker processes training one model: ``MultiWorkerMirroredStrategy`` on loopback.

Three parts, for three callers:

- :mod:`~course.multiworker.recipe` — the lab's recipe: the model, each worker's slice of
  the data, Lab 05's distributed step, the evaluation, and the same training on one device.
- :mod:`~course.multiworker.worker` — the worker process (``python -m course.multiworker
  --workdir DIR --log FILE``), with its :mod:`~course.multiworker.watchdog` (a process that
  stops it when its launcher goes away or its deadline passes) and its
  :mod:`~course.multiworker.events` log.
- :mod:`~course.multiworker.launcher` — what the notebook drives: :class:`Cluster`,
  :func:`train`, and the :class:`RunReport` read from the workers' logs
  (:mod:`~course.multiworker.report`).

Only the launcher runs in the notebook. No module imports TensorFlow at import time, so
importing this package is cheap (and the watchdog never imports it at all).
"""

from course.multiworker.events import EventLog, read_log
from course.multiworker.launcher import (
    RUN_TIMEOUT_S,
    START_TIMEOUT_S,
    Cluster,
    ClusterError,
    free_ports,
    stray_workers,
    train,
)
from course.multiworker.recipe import (
    DEFAULTS,
    build_mlp,
    close,
    evaluate,
    make_train_step,
    newest_common_step,
    tf_config,
    train_single_device,
    worker_dataset,
)
from course.multiworker.report import RunReport, WorkerRun
from course.multiworker.watchdog import alive
from course.multiworker.worker import check_fit, checkpoint_steps, run_worker, worker_main

__all__ = [
    "DEFAULTS",
    "RUN_TIMEOUT_S",
    "START_TIMEOUT_S",
    "Cluster",
    "ClusterError",
    "EventLog",
    "RunReport",
    "WorkerRun",
    "alive",
    "build_mlp",
    "check_fit",
    "checkpoint_steps",
    "close",
    "evaluate",
    "free_ports",
    "make_train_step",
    "newest_common_step",
    "read_log",
    "run_worker",
    "stray_workers",
    "tf_config",
    "train",
    "train_single_device",
    "worker_dataset",
    "worker_main",
]
