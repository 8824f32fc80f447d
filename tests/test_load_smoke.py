"""Smoke run of the load test (benchmarks/load.py): a few seconds at concurrency 1 and 4 against the
real ``cohesio serve`` on the small fixture store. No timing is asserted, only that nothing fails:
no 5xx and no request left without an HTTP answer. The full run and its results:
docs/performance.md ("Under load").

locust lives in its own venv (benchmarks/.venv-load), created by load.py on first use with pip.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_load_smoke(sparql_store_dir, tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "load.py"), "--smoke", "--store-dir",
                          str(sparql_store_dir), "--work-dir", str(tmp_path), "--results-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "load-smoke.json").read_text(encoding="utf-8"))
    assert report["bad_targets"] == []
    assert [(s["users"], s["heavy"]) for s in report["steps"]] == [(1, 0), (4, 0)]
    for step in report["steps"]:
        for kind in ("page", "rdf", "api", "sparql"):
            counts = step["kinds"][kind]
            assert counts["answered"] > 0, (step["users"], kind)
            assert counts["unexpected_5xx"] == 0 and counts["lost"] == 0 and counts["no_answer"] == 0, counts
            assert set(counts["statuses"]) == {"200"}, counts
    assert report["totals"]["unexpected_5xx"] == 0 and report["totals"]["lost"] == 0
    assert report["server_log"]["tracebacks"] == 0
    # every request the client issued reached the server (its access log counts them too)
    assert sum(report["server_log"]["statuses"].values()) >= report["totals"]["answered"]
