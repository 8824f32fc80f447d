"""A WSGI app that answers a fixed SPARQL JSON result: the cost of HTTP + gunicorn + the client alone.

benchmarks/endpoint.py serves it with the same gunicorn settings as ``cohesio serve`` to show how
much of cohesio's latency no query engine could remove.
"""

BODY = b'{"head":{"vars":["x"]},"results":{"bindings":[]}}'


def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/sparql-results+json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]
