"""The CLI's text output: the counts histogram and the coupling-map drawing."""

from __future__ import annotations

from qrelay.cli.client import coupling_text, describe_target, histogram
from qrelay.qpu.fleet import fleet_device


def test_histogram_ranks_and_scales() -> None:
    text = histogram({"00": 510, "11": 490, "01": 0}, width=20)
    lines = text.splitlines()
    assert lines[0].startswith("00 | " + "#" * 20)
    assert lines[1].startswith("11 | " + "#" * 19)
    assert "51.0%" in lines[0]
    assert "49.0%" in lines[1]
    assert lines[2].startswith("01 | ")
    assert "#" not in lines[2]


def test_histogram_truncates_many_outcomes() -> None:
    counts = {format(i, "05b"): 32 - i for i in range(32)}
    text = histogram(counts, rows=4)
    assert len(text.splitlines()) == 5
    assert text.splitlines()[-1].startswith("... 28 more outcome(s)")
    assert histogram({}) == "(no shots)\n"


def test_square_lattice_is_drawn_as_a_grid() -> None:
    text = coupling_text(fleet_device("square_qpu"))
    assert "coupling (grid)" in text
    assert " 0--- 1--- 2--- 3" in text
    assert "12---13---14---15" in text


def test_other_maps_list_neighbours() -> None:
    heavy = fleet_device("heavyhex_qpu")
    text = coupling_text(heavy)
    assert "pairs" in text
    assert len(text.splitlines()) == heavy.num_qubits + 1
    ion = describe_target(fleet_device("ion_qpu"))
    assert "all-to-all" in ion
    assert "ion_qpu" in ion
