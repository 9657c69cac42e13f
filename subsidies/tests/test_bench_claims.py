"""bench/claims.py runs end to end at a tiny size and prints its figures last, as key=value."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_claims_benchmark_runs_and_prints_its_figures_last_on_one_line():
    result = subprocess.run(
        [sys.executable, "bench/claims.py", "--trainees", "40", "--history", "80", "--claims", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    figures = dict(pair.split("=", 1) for pair in last.split())
    assert figures["history"] == "80"
    assert (figures["claims"], figures["passed"]) == ("10", "10")
    assert float(figures["claims_per_s"]) > 0
    assert 0 < float(figures["queries_per_claim"]) < 20
