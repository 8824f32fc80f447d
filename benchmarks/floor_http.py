"""The floor over HTTP: pyoxigraph in process behind the leanest HTTP/1.1 server we could write.

benchmarks/endpoint.py compares cohesio with ``Store.query`` in its own process (the floor). No
HTTP endpoint can reach that floor: the request and the answer must cross a socket and be parsed
on both sides. This server measures what is left when everything else is removed. It has no time
bound, no row cap, no guard, no content negotiation, no logging; it evaluates in its event loop
(so one slow query stops every client), and it is not safe to expose. It exists only so that the
benchmark can say how close to the floor *any* HTTP endpoint on this machine can come.

    python benchmarks/floor_http.py --store STORE_DIR --port 8123

It answers ``POST /sparql`` with a form-encoded ``query`` (what the benchmark's client sends) in
SPARQL Results JSON, over keep-alive connections.
"""

from __future__ import annotations

import argparse
import asyncio
from urllib.parse import parse_qs

import pyoxigraph as ox


def make_handler(store: ox.Store):
    fmt = ox.QueryResultsFormat.JSON

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                query = parse_qs(body.decode("utf-8")).get("query", ["ASK {}"])[0]
                try:
                    result = store.query(query, use_default_graph_as_union=True)
                    payload = result.serialize(format=fmt) if not isinstance(result, ox.QueryBoolean) else \
                        (b'{"head":{},"boolean":%s}' % (b"true" if result else b"false"))
                    status = b"200 OK"
                except SyntaxError as exc:
                    payload, status = str(exc).encode("utf-8"), b"400 Bad Request"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/sparql-results+json"
                             b"\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


async def main(store_path: str, port: int) -> None:
    store = ox.Store.read_only(store_path)
    server = await asyncio.start_server(make_handler(store), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a pyoxigraph store directory")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.store, args.port))
