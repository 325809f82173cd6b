"""Grade learners' labs: a fresh kernel, timeouts, check cells restored, a score to trust.

``course grade PATH...`` runs here. For each notebook:

1. **Read, never write.** The file's bytes are read once (and hashed); everything else works
   on an in-memory copy, and the kernel runs in an empty temporary directory.
2. **Identify the lab** from ``metadata.course.source`` (written by ``course build-labs``)
   and the exercise ``grade_id`` s, and read its solution from ``solutions/``.
3. **Rebuild the notebook from the solution.** The solution's code cells in the solution's
   order; every exercise cell (``nbgrader.solution``) takes the learner's source for its
   ``grade_id`` (the lab's gap when the learner deleted it); setup and demonstration cells
   come from the solution; every check cell is replaced by a *grader cell*. Code cells the
   learner added run too, after the cell they followed in the learner's notebook (helpers
   and experiments are part of their work; their outputs are never read for the score).
   Learner edits to setup, demo or check cells are not run.
4. **Run it** in one fresh kernel (this interpreter, ``KERNEL_ENV``, like
   ``course run-solutions``). A cell longer than ``timeout_cell`` is interrupted and the
   notebook goes on; a cell that ignores the interrupt gets the kernel stopped; nothing starts
   after ``timeout_total``.
5. **Score only what the grader measured.** A grader cell loads *private* copies of the
   ``course`` modules it needs straight from the package files (SHA-256 checked, never put in
   ``sys.modules``), runs the solution's check source (hidden tests included) against the
   learner's objects, and publishes the results as one display message of type
   :data:`RESULT_MIME` signed with a key that exists only in that cell (HMAC-SHA256). Only a
   correctly signed message, exactly one, in the output of that grader cell counts. Printed
   text never counts; monkeypatching ``course.checks``/``course.data`` in the kernel does not
   reach the private copies.

The grader's own trusted base is checked (:mod:`~course.grading.integrity`): before it loads
anything and again before it signs, a grader cell compares every attribute of the standard
library modules it relies on (``builtins``, ``hmac``, ``hashlib``, ``json``, ``io``,
``os.path``, ``types``, ``operator``) with what a clean interpreter has. A difference (say
``json.dumps`` replaced through ``matplotlib.font_manager.json``) makes it publish an unsigned
"tampered" notice instead: the exercise scores 0 and the report is flagged. A result that is
missing, doubled or altered also scores 0 and is flagged.

What in-process grading still cannot stop, because learner code runs in the same Python
process before and during each grader cell: code that sees the grader cell's *source*, which
holds that cell's key (an IPython input transformer, a replaced ``builtins.__import__``,
``compile`` or ``exec`` active when the cell starts, a trace or audit hook) can forge that
cell's result, or replace the grader's code before it runs; code that reads the key from
interpreter frames or the garbage collector while the check calls it; a patch made and undone
between the two integrity checks (a timer thread); patches to what the *checks* compute with
beyond the standard library (``np.allclose``, Keras); and C-level changes (``ctypes``). Such code
is *flagged* by the source scan (:func:`scan_for_tampering`) when it names those mechanisms,
but a determined learner can hide the names. The sandbox (:mod:`course.sandbox`) bounds what
such code can do to the machine, not the score.

So the judgement leaves the kernel where the answer allows (:mod:`~course.grading.crosscheck`):
a grader cell also records, as plain values (:mod:`~course.grading.plain`, JSON, never pickle),
what the check passed to the learner's functions and what they returned
(:mod:`~course.grading.recorder`), signed with its result; after the run, one fresh Python
process per notebook that runs no learner code re-runs the kit's public checks on those values
(:mod:`~course.grading.judge`). A result that differs scores 0 and says so; a check that needs
live objects (``@check(..., judged="kernel")``: a model, a data set, a class) is judged in the
kernel only, and every report lists those exercises.

Scoring: a check cell is worth its ``nbgrader.points``; it earns that times the fraction of
check points its checks awarded (partial credit). It scores 0 when the exercise cell it
follows raised or timed out (the report quotes the error's last line), when its own code
raised (a hidden test's error is reported without its message), or when it ran no check.
Feedback holds the checks' one-line results (hints); never the hidden tests' code or values.

Only the standard library, nbformat and (when a notebook runs) nbclient are imported here;
never TensorFlow.

Modules, one job each: :mod:`~course.grading.results` (what grading produces),
:mod:`~course.grading.labs` (reading a notebook, identifying its lab),
:mod:`~course.grading.plan` (which code runs, in which order),
:mod:`~course.grading.tamper` (the tamper scan), :mod:`~course.grading.integrity` (the grader's
trusted base, checked), :mod:`~course.grading.grader_cell` (the code
that replaces a check cell), :mod:`~course.grading.kernel` (the kernel run),
:mod:`~course.grading.plain`, :mod:`~course.grading.recorder`, :mod:`~course.grading.judge` and
:mod:`~course.grading.crosscheck` (the clean re-check),
:mod:`~course.grading.scoring`, :mod:`~course.grading.reports` and
:mod:`~course.grading.grade` (one notebook, end to end).
"""

import course.lean_imports  # noqa: F401  (first: its modules import nbformat)
from course.grading.grade import (
    DEFAULT_TIMEOUT_CELL_S,
    DEFAULT_TIMEOUT_TOTAL_S,
    grade_notebook,
)
from course.grading.grader_cell import (
    GRADER_SOURCE,
    RESULT_MIME,
    grader_cell_source,
    grader_spec,
    package_hashes,
    read_result,
)
from course.grading.kernel import KernelRun, Outcome, Status
from course.grading.labs import (
    Solution,
    find_solutions_dir,
    identify_lab,
    load_solution,
    parse_notebook,
)
from course.grading.plan import (
    AliasForm,
    SegmentKind,
    Step,
    StepKind,
    course_aliases,
    plan_notebook,
    split_hidden,
)
from course.grading.reports import (
    GRADEBOOK_NAME,
    gradebook_csv,
    report_names,
    summary_line,
    to_gradescope,
    to_markdown,
    write_report,
)
from course.grading.results import (
    GradeReport,
    GradingInterrupted,
    NotGradable,
    Result,
    TestResult,
)
from course.grading.scoring import exercise_name, score_check, score_steps
from course.grading.tamper import scan_for_tampering

__all__ = [
    "DEFAULT_TIMEOUT_CELL_S", "DEFAULT_TIMEOUT_TOTAL_S", "GRADEBOOK_NAME", "GRADER_SOURCE",
    "RESULT_MIME", "AliasForm", "GradeReport", "GradingInterrupted", "KernelRun",
    "NotGradable", "Outcome", "Result", "SegmentKind", "Solution", "Status", "Step",
    "StepKind", "TestResult", "course_aliases", "exercise_name", "find_solutions_dir",
    "grade_notebook", "gradebook_csv", "grader_cell_source", "grader_spec", "identify_lab",
    "load_solution", "package_hashes", "parse_notebook", "plan_notebook", "read_result",
    "report_names", "scan_for_tampering", "score_check", "score_steps", "split_hidden",
    "summary_line",
    "to_gradescope", "to_markdown", "write_report",
]
