"""bench/risk.py runs end to end at a tiny size and prints its figures last, as key=value."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_risk_benchmark_runs_and_prints_claims_seconds_and_signals_last():
    result = subprocess.run(
        [sys.executable, "bench/risk.py", "--claims", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    figures = dict(pair.split("=", 1) for pair in result.stdout.strip().splitlines()[-1].split())
    assert figures["claims"] == "300"
    assert float(figures["seconds"]) >= 0
    # 3 % of trainees share a phone in threes, 2 % an account in pairs, 1 % train 12 h a day.
    assert int(figures["signals"]) > 0
    assert int(figures["queries_per_run"]) < 100
