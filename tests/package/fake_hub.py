#!/usr/bin/python3
"""fake_hub.py - a loopback stand-in for the Hugging Face Hub, for tests.

Serves ROOT/<user>/<repo>/<file> at http://127.0.0.1:<port>/<user>/<repo>/resolve/main/<file>,
with Range requests (bytes=N- and bytes=N-M) and a 302 redirect for shards (as the
Hub sends large files to its CDN) when --redirect is given.

Fault injection, per file, from a JSON control file re-read on every request:
  {"<user>/<repo>/<file>": [FAULT, ...], ...}
Each request for that file consumes the next FAULT of its list (counting starts
again whenever the control file changes) (a FAULT with
"always": true is never consumed); when the list is used up the file is served
normally. A FAULT is an object:
  {"status": 401|403|404|500|503|429, "retry_after": seconds}   answer with that status
  {"drop_after": N}        send the headers, then N bytes of the body, then close
  {"corrupt": true}        send the right length with one byte flipped
  {"extra": N}             send N bytes more than the file holds
  {"slow": seconds}        pause that long before each 64 KiB of the body
  {"ignore_range": true}   answer a Range request with the whole file (200)
--cdn-host H (an address in 127.0.0.0/8 other than 127.0.0.1, e.g. 127.0.0.2) makes
the redirect cross hosts, as the Hub's does: a second server listens on H (ephemeral
port) and the Location is http://H:<port>/_cdn/...; it only serves /_cdn/ and never
asks for a token.
--token T makes every request without "Authorization: Bearer T" get 401.
Every request is logged as one JSON line to --log (method, path, range, status,
whether an Authorization header was present; never its value).

Listens on 127.0.0.1 only (port 0 = an ephemeral port, written to --port-file)
and exits by itself after --max-seconds.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"consumed": {}, "lock": threading.Lock(), "text": None}
CDN = {"port": None}


def loopback_only(host):
    """Refuses any address outside 127.0.0.0/8: the tests never listen elsewhere."""
    parts = host.split(".")
    if len(parts) != 4 or parts[0] != "127" or not all(p.isdigit() and int(p) < 256 for p in parts):
        sys.exit(f"fake_hub: {host} is not a loopback address (127.0.0.0/8)")
    return host


def next_fault(args, key):
    if not args.faults or not os.path.exists(args.faults):
        return None
    try:
        with open(args.faults) as f:
            text = f.read()
        table = json.loads(text)
    except (OSError, ValueError):
        return None
    faults = table.get(key) or []
    with STATE["lock"]:
        if text != STATE["text"]:  # a new fault table starts counting afresh
            STATE["text"] = text
            STATE["consumed"] = {}
        i = STATE["consumed"].get(key, 0)
        if i >= len(faults):
            return None
        fault = faults[i]
        if not fault.get("always"):
            STATE["consumed"][key] = i + 1
        return fault


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    args = None

    def log_message(self, fmt, *a):  # quiet; we keep our own log
        pass

    def log_req(self, status):
        if not self.args.log:
            return
        rec = {"method": self.command, "path": self.path, "range": self.headers.get("Range"),
               "status": status, "auth": self.headers.get("Authorization") is not None,
               "server": self.server.server_address[0]}
        with STATE["lock"], open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.log_req(status)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")]
        is_cdn_server = self.args.cdn_host and self.server.server_address[0] == self.args.cdn_host
        if is_cdn_server and not url.path.startswith("/_cdn/"):
            return self.reply(404, b'{"error":"the CDN serves /_cdn/ only"}')
        if url.path.startswith("/_cdn/"):
            parts = ["", parts[2], parts[3], "resolve", "main"] + parts[4:]
        elif self.args.token is not None:
            if self.headers.get("Authorization") != "Bearer " + self.args.token:
                return self.reply(401, b'{"error":"Invalid credentials in Authorization header"}')
        if len(parts) < 6 or parts[3] != "resolve" or parts[4] != "main":
            return self.reply(404, b'{"error":"Entry not found"}')
        user, repo, name = parts[1], parts[2], "/".join(parts[5:])
        if ".." in name.split("/") or name.startswith("/"):
            return self.reply(404)
        path = os.path.join(self.args.root, user, repo, name)
        key = f"{user}/{repo}/{name}"
        fault = next_fault(self.args, key)
        if fault and "status" in fault:
            h = {}
            if "retry_after" in fault:
                h["Retry-After"] = str(fault["retry_after"])
            return self.reply(fault["status"], b'{"error":"injected"}', h)
        if not os.path.isfile(path):
            return self.reply(404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"})
        if self.args.redirect and name.endswith(".bin") and not url.path.startswith("/_cdn/"):
            loc = "/_cdn/" + "/".join(urllib.parse.quote(p) for p in (user, repo, name))
            if self.args.cdn_host:
                loc = f"http://{self.args.cdn_host}:{CDN['port']}{loc}"
            return self.reply(302, b"", {"Location": loc})
        with open(path, "rb") as f:
            data = f.read()
        start, end, status = 0, len(data), 200
        rng = self.headers.get("Range")
        if rng and not (fault and fault.get("ignore_range")):
            try:
                a, b = rng.replace("bytes=", "").split("-")
                start = int(a)
                end = int(b) + 1 if b else len(data)
            except ValueError:
                return self.reply(400)
            if start >= len(data) or start >= end:
                return self.reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            end = min(end, len(data))
            status = 206
        body = bytearray(data[start:end])
        if fault and fault.get("corrupt") and body:
            body[len(body) // 2] ^= 0xFF
        if fault and fault.get("extra"):
            body += b"\0" * int(fault["extra"])
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        self.log_req(status)
        if self.command == "HEAD":
            return
        limit = fault.get("drop_after") if fault else None
        sent = 0
        chunk = 65536
        try:
            while sent < len(body):
                if fault and fault.get("slow"):
                    time.sleep(float(fault["slow"]))
                n = min(chunk, len(body) - sent)
                if limit is not None and sent + n > limit:
                    n = max(0, limit - sent)
                    self.wfile.write(body[sent:sent + n])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body[sent:sent + n])
                sent += n
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--faults")
    ap.add_argument("--log")
    ap.add_argument("--token")
    ap.add_argument("--redirect", action="store_true")
    ap.add_argument("--cdn-host", type=loopback_only)
    ap.add_argument("--max-seconds", type=float, default=600)
    args = ap.parse_args()
    Handler.args = args
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if args.cdn_host:
        cdn = ThreadingHTTPServer((args.cdn_host, 0), Handler)
        cdn.daemon_threads = True
        CDN["port"] = cdn.server_address[1]
        threading.Thread(target=cdn.serve_forever, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    timer = threading.Timer(args.max_seconds, srv.shutdown)
    timer.daemon = True
    timer.start()
    srv.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
