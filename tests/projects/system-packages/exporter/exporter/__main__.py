"""Formats metrics with jq, a run-time system package."""

import json
import subprocess
from http.server import BaseHTTPRequestHandler, HTTPServer


def pretty(data: dict) -> str:
    return subprocess.run(["jq", "-c", "."], input=json.dumps(data), capture_output=True, text=True,
                          check=True).stdout


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = pretty({"status": "ok"}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("0.0.0.0", 8001), Health).serve_forever()
