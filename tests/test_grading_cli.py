"""``course grade`` as a command: its help, its options, its start-up cost. No kernel here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course.cli import main


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["grade", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("PATH", "--timeout-cell S", "--timeout-total S", "--out DIR",
                   "--format FMT", "--solutions DIR", "gradebook.csv", "exit status"):
        assert option in text, option
    assert "grade" in subprocess.run([sys.executable, "-m", "course", "--help"],
                                     capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("argv", [
    ["grade"],
    ["grade", "x.ipynb", "--format", "pdf"],
    ["grade", "x.ipynb", "--timeout-cell", "0"],
    ["grade", "x.ipynb", "--timeout-total", "soon"],
])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "course grade: error:" in capsys.readouterr().err


def test_missing_solutions_folder_is_one_error(tmp_path, capsys):
    assert main(["grade", "x.ipynb", "--solutions", str(tmp_path / "nowhere")]) == 2
    assert "no solutions folder found" in capsys.readouterr().err


def test_the_cli_and_the_grader_never_import_tensorflow():
    code = ("import sys, course.cli, course.grading; "
            "print([m for m in ('tensorflow', 'keras', 'numpy', 'nbclient') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
