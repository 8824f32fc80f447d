"""Smoke test of benchmarks/pages.py: no timing is asserted. On the real build served twice under
two names, one run must serve it with the real ``cohesio serve``, find resources of every kind,
answer every page, browse page and selective query without failure, measure the server's memory,
and write a report whose ratios compare the same store (so sit near 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
import ld_support  # noqa: E402


def test_pages_benchmark_runs_on_published_stores(tmp_path_factory, tmp_path):
    store = ld_support.real_store(tmp_path_factory)
    argv = [sys.executable, str(REPO / "benchmarks" / "pages.py"), "--store", f"a={store}", "--store", f"b={store}",
            "--per-kind", "1", "--runs", "1", "--warmup", "0", "--tag", "smoke", "--out", str(tmp_path / "out"),
            "--work", str(tmp_path / "work"), "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "pages-smoke.json").read_text(encoding="utf-8"))
    for name in ("a", "b"):
        s = report["stores"][name]
        assert s["triples"] > 200_000
        assert set(s["pages"]) >= {"initiative", "organization", "commune", "departement", "region", "theme", "source"}
        assert all(p["failures"] == 0 and p["html"] > 0 and p["turtle"] > 0 for p in s["pages"].values()), s["pages"]
        assert all("median" in b and "failures" not in b for b in s["browse"].values()), s["browse"]
        assert all(q["median"] and not q["failures"] for q in s["queries"].values()), s["queries"]
        assert s["memory_after"]["rss"] >= s["memory_start"]["rss"] * 0.5 > 0 and s["processes"] >= 3
    markdown = (tmp_path / "out" / "pages-smoke.md").read_text(encoding="utf-8")
    assert "| b / a |" in markdown and "| initiative |" in markdown
    rerendered = subprocess.run([sys.executable, str(REPO / "benchmarks" / "pages.py"), "--render",
                                 str(tmp_path / "out" / "pages-smoke.json")], capture_output=True, text=True, timeout=60)
    assert rerendered.returncode == 0 and (tmp_path / "out" / "pages-smoke.md").read_text(encoding="utf-8") == markdown


def test_serving_memory_benchmark_compares_both_configurations(tmp_path_factory, tmp_path):
    """benchmarks/serving_memory.py: the same requests on the same store, with and without the query
    processes' memory bounds; every request answered, memory sampled, the ratio written."""
    store = ld_support.real_store(tmp_path_factory)
    argv = [sys.executable, str(REPO / "benchmarks" / "serving_memory.py"), "--store", f"real={store}",
            "--pages", "4", "--timeout", "5", "--recycle", "1", "--tag", "smoke",
            "--results-dir", str(tmp_path / "out"), "--work", str(tmp_path / "work")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "serving-memory-smoke.json").read_text(encoding="utf-8"))
    entry = report["stores"]["real"]
    for config in ("unbounded", "bounded"):
        m = entry[config]
        assert m["statuses"] == {"200": report["requests"]}, m["statuses"]
        assert m["peak"]["rss"] >= m["start"]["rss"] > 0 and m["end"]["processes"] >= 3
    assert entry["unbounded"]["settings"] == {"COHESIO_QUERY_MEMORY_LIMIT": "0", "COHESIO_QUERY_PROCESS_RECYCLE": "0"}
    assert entry["bounded"]["settings"] == {"COHESIO_QUERY_PROCESS_RECYCLE": "1"}
    assert "peak RSS: bounded ÷ unbounded" in (tmp_path / "out" / "serving-memory-smoke.md").read_text(encoding="utf-8")
