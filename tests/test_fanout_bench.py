"""The fan-out benchmark (benchmarks/fanout.py, `make bench BENCH=fanout`) in its quick
mode, against real `python -m chatkit serve`, stock python-socketio
(benchmarks/fanout_stock.py) and the Node socket.io server: every acknowledged message
reaches every student, the counts add up and the table has every row. Its times and
speeds are figures the benchmark reports, never asserted here."""

import shutil

import pytest

from benchmarks import fanout


@pytest.fixture(scope="module")
def figures() -> dict:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    assert not missing, (f"the fan-out benchmark needs {' and '.join(missing)} on PATH "
                         "(Node.js: the load generator and the reference server)")
    return fanout.run(quick=True)


def phases(one: dict) -> list[dict]:
    return one["latency"] + one["ramp"]


@pytest.mark.timeout(240)
def test_every_server_at_every_size_was_measured(figures):
    measured = {(one["server"], one["students"]) for one in figures["runs"]}
    assert measured == {(kind, n) for kind in fanout.SERVERS for n in fanout.QUICK["students"]}
    for one in figures["runs"]:
        assert one["event_loop"] in {"uvloop", "asyncio", "node"}, one["server"]


def test_every_student_connected_and_joined(figures):
    for one in figures["runs"]:
        assert one["connect"]["connected"] == one["students"], one["server"]
        assert one["connect"]["rss"] > 0 and one["connect"]["idle_rss"] > 0


def test_every_acked_message_reached_every_student(figures):
    for one in figures["runs"]:
        assert len(one["latency"]) == fanout.QUICK["cpu_repeats"]
        assert one["ramp"], one["server"]
        for phase in phases(one):
            where = (one["server"], phase["rate"])
            assert phase["offered"] > 0, where
            assert phase["refused"] == 0 and phase["failed"] == 0, where
            assert phase["acked"] == phase["offered"], where
            assert phase["expected"] == phase["acked"] * one["students"], where
            assert phase["delivered"] == phase["expected"], where
            # each student got each message exactly once (fewest = most = acked)
            assert phase["fewest"] == phase["most"] == phase["acked"], where


def test_the_cpu_figure_counts_the_whole_phase(figures):
    """CPU per delivery divides server CPU over the phase, drain included: the phase
    lasts at least as long as its sending did, so the fraction of a core is no higher
    than with the old send-time division."""
    for one in figures["runs"]:
        for phase in phases(one):
            assert phase["elapsed"] >= phase["send_seconds"], one["server"]
            assert phase["server_cpu"] >= 0 and phase["load_cpu"] >= 0


def test_the_table_has_every_row_and_column_and_is_written(figures, tmp_path):
    text = fanout.report(figures, out_dir=tmp_path)
    for title, _, _ in fanout.ROWS:
        for n in fanout.QUICK["students"]:
            rows = [line for line in text.splitlines() if line.startswith(f"| {title} | {n} |")]
            assert len(rows) == 1, (title, n)
            assert rows[0].count("|") == 3 + len(fanout.SERVERS), rows[0]
    header = text.splitlines()[4]
    for kind in fanout.SERVERS:
        assert fanout.TITLES[kind] in header
    assert (tmp_path / "fanout.md").read_text().strip() == text.strip()
    assert (tmp_path / "fanout.png").read_bytes().startswith(b"\x89PNG")
