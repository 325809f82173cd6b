"""The ``course`` command: build-labs (check, refuse, force, update), data, run-solutions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course import data
from course.cli import main
from course.execute import KERNEL_ENV, tf_log_lines
from course.notebooks import lab_text


def write_solution(folder: Path, name: str, source: str) -> Path:
    """Write a one-exercise solution notebook and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"nbgrader": {"grade_id": "ex", "solution": True, "grade": False, "locked": False,
                         "schema_version": 3}}
    nb = new_notebook(cells=[
        new_code_cell(f"### BEGIN SOLUTION\n{source}\n### END SOLUTION", metadata=meta),
    ])
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def repo(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A repository with two solutions and no labs yet; the working directory is its root."""
    write_solution(tmp_path / "solutions", "01_a.ipynb", "a = 1")
    write_solution(tmp_path / "solutions", "02_b.ipynb", "b = 2")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "solutions", tmp_path / "labs"


def test_check_fails_naming_missing_labs_then_passes_after_build(repo, capsys):
    solutions, labs = repo
    assert main(["build-labs", "--check"]) == 1
    out = capsys.readouterr().out
    assert "labs/01_a.ipynb: missing" in out and "labs/02_b.ipynb: missing" in out
    assert not labs.exists()  # --check writes nothing

    assert main(["build-labs"]) == 0
    assert main(["build-labs", "--check"]) == 0
    assert "labs/ is in sync with solutions/ (2 labs)" in capsys.readouterr().out


def test_check_names_the_stale_lab(repo, capsys):
    solutions, labs = repo
    main(["build-labs"])
    before = (labs / "02_b.ipynb").read_bytes()
    write_solution(solutions, "02_b.ipynb", "b = 3\nc = 4")
    capsys.readouterr()
    assert main(["build-labs", "--check"]) == 1
    out = capsys.readouterr().out
    assert "labs/02_b.ipynb" in out and "01_a" not in out
    assert (labs / "02_b.ipynb").read_bytes() == before


def test_default_dirs_are_found_from_a_subfolder(repo, monkeypatch, capsys):
    solutions, labs = repo
    main(["build-labs"])
    monkeypatch.chdir(labs)
    assert main(["build-labs", "--check"]) == 0


def test_options_override_the_directories(tmp_path, capsys):
    solutions = tmp_path / "src"
    write_solution(solutions, "01_a.ipynb", "a = 1")
    out_dir = tmp_path / "out"
    assert main(["build-labs", "--solutions", str(solutions), "--labs", str(out_dir)]) == 0
    lab = (out_dir / "01_a.ipynb").read_text(encoding="utf-8")
    assert lab == lab_text(solutions / "01_a.ipynb")


def test_untouched_lab_is_updated(repo, capsys):
    solutions, labs = repo
    main(["build-labs"])
    write_solution(solutions, "01_a.ipynb", "a = 5\nz = 6")
    capsys.readouterr()
    assert main(["build-labs"]) == 0
    assert "updated labs/01_a.ipynb" in capsys.readouterr().out
    assert (labs / "01_a.ipynb").read_text(encoding="utf-8") == lab_text(solutions / "01_a.ipynb")
    assert main(["build-labs", "--check"]) == 0


def test_edited_lab_is_refused_and_other_labs_still_built(repo, capsys):
    solutions, labs = repo
    main(["build-labs"])
    edited = (labs / "01_a.ipynb").read_bytes().replace(b"a = None", b"a = 42")
    (labs / "01_a.ipynb").write_bytes(edited)
    write_solution(solutions, "01_a.ipynb", "a = 1\nextra = 2")
    write_solution(solutions, "03_c.ipynb", "c = 3")
    capsys.readouterr()

    assert main(["build-labs"]) == 1
    captured = capsys.readouterr()
    assert "labs/01_a.ipynb" in captured.err and "--force" in captured.err
    assert (labs / "01_a.ipynb").read_bytes() == edited
    assert (labs / "03_c.ipynb").is_file()
    assert not (labs / ".backups").exists()
    # Refused again on the next run: the manifest did not forget the generated version.
    assert main(["build-labs"]) == 1


def test_lab_unknown_to_the_manifest_is_refused(repo, capsys):
    solutions, labs = repo
    labs.mkdir()
    (labs / "01_a.ipynb").write_text("{}")
    assert main(["build-labs"]) == 1
    assert "labs/01_a.ipynb" in capsys.readouterr().err
    assert (labs / "01_a.ipynb").read_text() == "{}"


def test_force_backs_up_the_edited_lab_first(repo, capsys):
    solutions, labs = repo
    main(["build-labs"])
    edited = (labs / "01_a.ipynb").read_bytes().replace(b"a = None", b"a = 42")
    (labs / "01_a.ipynb").write_bytes(edited)
    capsys.readouterr()

    assert main(["build-labs", "--force"]) == 0
    out = capsys.readouterr().out
    backups = list((labs / ".backups").glob("01_a.*.ipynb"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == edited
    assert str(backups[0].relative_to(labs.parent)) in out
    assert (labs / "01_a.ipynb").read_text(encoding="utf-8") == lab_text(solutions / "01_a.ipynb")

    (labs / "01_a.ipynb").write_bytes(edited)  # same second: the backup name gets a counter
    assert main(["build-labs", "--force"]) == 0
    assert len(list((labs / ".backups").glob("01_a.*.ipynb"))) == 2
    assert main(["build-labs", "--check"]) == 0


def test_invalid_solution_is_one_clear_error(repo, capsys):
    solutions, _ = repo
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1")])
    nbformat.write(nb, solutions / "04_bad.ipynb")
    assert main(["build-labs"]) == 2
    err = capsys.readouterr().err
    assert "solutions/04_bad.ipynb, cell 0" in err and "Traceback" not in err


def test_check_and_force_are_exclusive(repo, capsys):
    with pytest.raises(SystemExit) as info:
        main(["build-labs", "--check", "--force"])
    assert info.value.code == 2


def test_build_labs_check_never_imports_tensorflow(repo):
    solutions, labs = repo
    script = textwrap.dedent(f"""
        import sys
        from course.cli import main
        rc = main(["build-labs", "--check", "--solutions", {str(solutions)!r},
                   "--labs", {str(labs)!r}])
        heavy = sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)
        assert not heavy, heavy
        # jsonschema's rfc3987_syntax costs ~1.2 s of start-up; main() keeps it out.
        assert sys.modules.get("rfc3987_syntax") is None
        sys.exit(rc)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr  # stale: the labs were never built
    assert "01_a.ipynb: missing" in result.stdout


def test_pytest_loads_lean_imports_before_nbval_imports_nbformat():
    # pyproject's addopts `-p course.lean_imports` runs before the plugins load: nbval's
    # `import nbformat` then skips jsonschema's 3 s rfc3987_syntax (benchmarks/README.md).
    assert "nbformat" in sys.modules
    assert sys.modules["rfc3987_syntax"] is None


def test_the_grading_package_keeps_rfc3987_syntax_out():
    # `python -m course.grading.gradescope` imports course.grading before its main() runs.
    code = "import sys, course.grading; print(sys.modules['rfc3987_syntax'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "None"


def test_help_lists_the_subcommands():
    result = subprocess.run([sys.executable, "-m", "course", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("build-labs", "run-solutions", "data"):
        assert command in result.stdout


def test_data_prints_the_sample_checksum(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert data.SAMPLE_SHA256 in out
    assert str(data.sample_path()) in out
    assert "x_train (8000, 28, 28) uint8" in out


def test_data_full_prints_the_cached_path(monkeypatch, tmp_path, capsys):
    seen = []
    monkeypatch.setattr(data, "fetch_full", lambda cache_dir: seen.append(cache_dir) or
                        tmp_path / "mnist.npz")
    assert main(["data", "--full", "--cache-dir", str(tmp_path)]) == 0
    assert seen == [str(tmp_path)]
    assert str(tmp_path / "mnist.npz") in capsys.readouterr().out


def test_data_error_goes_to_stderr_with_status_2(monkeypatch, capsys):
    def offline(cache_dir):
        raise data.DataError("Full MNIST is not cached and cannot be reached.")

    monkeypatch.setattr(data, "fetch_full", offline)
    assert main(["data", "--full"]) == 2
    assert "cannot be reached" in capsys.readouterr().err


def test_tf_log_lines_are_detected():
    nb = new_notebook(cells=[new_code_cell("x")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="I0000 stdout is fine\n"),
        nbformat.v4.new_output("stream", name="stderr", text=(
            "a warning\nW0000 00:00:1 cpu_feature_guard.cc:1] noise\n"
            "WARNING: All log messages before absl::InitializeLog() is called are written\n")),
    ]
    assert [line[:5] for _, line in tf_log_lines(nb)] == ["W0000", "WARNI"]


def test_run_solutions_stores_stdout_but_not_fd_level_stderr(tmp_path, monkeypatch, capsys):
    # ipykernel never captures fds when PYTEST_CURRENT_TEST is set; remove it so this test
    # fails if execute stops passing --IPKernelApp.capture_fd_output=False.
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    for key in KERNEL_ENV:
        monkeypatch.delenv(key, raising=False)
    nb = new_notebook(cells=[
        new_code_cell("print(1 + 1)"),
        new_code_cell('import os\nos.write(2, b"E0000 noise\\n")\nprint(os.environ["COLUMNS"])'),
    ], metadata={"tags_kept": {"x": 1}})
    nbformat.write(nb, tmp_path / "01_tiny.ipynb")

    assert main(["run-solutions", "01_tiny", "--solutions", str(tmp_path), "--timeout", "60"]) == 0
    done = nbformat.read(tmp_path / "01_tiny.ipynb", as_version=4)
    assert done.cells[0].outputs == [
        nbformat.v4.new_output("stream", name="stdout", text="2\n")
    ]
    assert done.cells[1].outputs == [
        nbformat.v4.new_output("stream", name="stdout", text=f"{KERNEL_ENV['COLUMNS']}\n")
    ]
    assert [cell.execution_count for cell in done.cells] == [1, 2]
    assert done.metadata["tags_kept"] == {"x": 1}
    assert "execution" not in done.cells[0].metadata
    assert "COLUMNS" not in __import__("os").environ  # restored after the run


def test_run_solutions_failure_writes_nothing(tmp_path, capsys):
    nb = new_notebook(cells=[new_code_cell("print('ok')"), new_code_cell("1 / 0")])
    path = tmp_path / "01_broken.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert main(["run-solutions", "--solutions", str(tmp_path), "--timeout", "60"]) == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_run_solutions_unknown_name(tmp_path, capsys):
    assert main(["run-solutions", "nope", "--solutions", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err
