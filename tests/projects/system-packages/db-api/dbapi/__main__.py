"""A health endpoint that proves psycopg2 and libpq load (no database needed)."""

from http.server import BaseHTTPRequestHandler, HTTPServer

import psycopg2


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f'{{"status": "ok", "libpq": {psycopg2.extensions.libpq_version()}}}'.encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", 8000), Health).serve_forever()
