"""Serve an N-Quads file with rdflib-endpoint (the usual Python choice), for benchmarks/endpoint.py.

Runs in its own virtual environment, kept out of cohesio's dependencies::

    python3.11 -m venv benchmarks/.venv-peers
    benchmarks/.venv-peers/bin/pip install rdflib-endpoint uvicorn

    benchmarks/.venv-peers/bin/python benchmarks/rdflib_peer.py --data data.nq --port 8123

The graph is an rdflib ``Dataset`` with ``default_union=True``, so that queries without ``GRAPH``
see every named graph, as cohesio's endpoint does. One uvicorn process, as rdflib-endpoint is
usually deployed (every extra worker would hold its own copy of the graph in memory).
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    import uvicorn
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    started = time.perf_counter()
    ds = Dataset(default_union=True)
    ds.parse(args.data, format="nquads")
    print(f"rdflib loaded {len(ds)} triples in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    app = SparqlEndpoint(graph=ds, path="/sparql", cors_enabled=False)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
