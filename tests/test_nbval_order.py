"""The root conftest's order for ``pytest --nbval solutions/ -n 2 --dist loadfile``: the
longest solutions first, a lab's two languages side by side, cells in their order, other
tests after them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _items(*paths: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(path=ROOT / path, name=f"{path}::{i}") for i, path in enumerate(paths)]


def test_workers_get_the_longest_solutions_first_and_cells_keep_their_order():
    conftest = _root_conftest()
    items = _items("tests/test_a.py", "solutions/03_x.ipynb", "solutions/03_x.ipynb",
                   "solutions/zh/02_y.ipynb", "solutions/02_y.ipynb", "solutions/02_y.ipynb",
                   "solutions/06_z.ipynb")
    names = [item.name for item in items]
    conftest.pytest_collection_modifyitems(SimpleNamespace(workerinput={}), items)
    order = [item.name for item in items]
    seconds = conftest.SOLUTION_SECONDS
    assert seconds["02"] > seconds["06"] > seconds["03"]  # the order below follows them
    assert order == [names[3], names[4], names[5], names[6], names[1], names[2], names[0]]


def test_a_labs_two_languages_stay_side_by_side_even_when_times_tie():
    conftest = _root_conftest()
    items = _items("solutions/05_a.ipynb", "solutions/06_b.ipynb", "solutions/zh/05_a.ipynb",
                   "solutions/zh/06_b.ipynb")
    conftest.SOLUTION_SECONDS.update({"05": 50, "06": 50})
    conftest.pytest_collection_modifyitems(SimpleNamespace(workerinput={}), items)
    assert [str(item.path.relative_to(ROOT)) for item in items] == [
        "solutions/05_a.ipynb", "solutions/zh/05_a.ipynb", "solutions/06_b.ipynb",
        "solutions/zh/06_b.ipynb"]


def test_without_xdist_the_order_is_left_alone():
    conftest = _root_conftest()
    items = _items("tests/test_a.py", "solutions/03_x.ipynb", "solutions/02_y.ipynb")
    before = list(items)
    conftest.pytest_collection_modifyitems(SimpleNamespace(), items)
    assert items == before


def test_loadfile_keeps_the_workers_order_instead_of_xdists_cell_count_order():
    conftest = _root_conftest()
    option = SimpleNamespace(dist="loadfile", loadscopereorder=True, nbval_sanitize_with=None)
    conftest.pytest_configure(SimpleNamespace(option=option))
    assert option.loadscopereorder is False
    other = SimpleNamespace(dist="load", loadscopereorder=True, nbval_sanitize_with=None)
    conftest.pytest_configure(SimpleNamespace(option=other))
    assert other.loadscopereorder is True


def test_every_lab_has_a_measured_time():
    labs = {path.name[:2] for path in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")}
    assert labs == set(_root_conftest().SOLUTION_SECONDS)
