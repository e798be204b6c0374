#!/usr/bin/env python3
"""chdb_http.py — ClickHouse 26.x (the chdb engine) behind ClickHouse's HTTP interface, for development and tests.

A TEST/DEV ENDPOINT, NOT A PRODUCTION SERVER: one process, one chdb session, one query at a time (clients connect
concurrently; their queries are executed one after another), one user, loopback only.
`streamshop stack up --clickhouse-engine chdb` starts it (scripts/stack.sh); docs/MODERN_CLICKHOUSE.md says
what it is and what it is not.

What it speaks, like clickhouse-server does:
  GET /ping, GET / → "Ok.\n"
  GET|POST /?query=…  the SQL is the `query` parameter, a newline, then the request body (ClickHouse concatenates
                      them the same way); without `query`, the body is the SQL. The SQL and the data reach the
                      engine unchanged. One difference in how: an `INSERT … FORMAT <name>` with data (in `query`
                      and the data in the body, or the body's first line and the data after it) goes through chdb's
                      streaming insert (the statement before `FORMAT`, the format name, the data bytes), because chdb's query() splits a text at ";\n" even inside binary
                      data (measured: RowBinary rows holding a string "a;\n\n" fail with CANNOT_READ_ALL_DATA).
  authentication      with --password-file, every query must come as --user (default `default`) with that password:
                      HTTP Basic auth, or X-ClickHouse-User/X-ClickHouse-Key headers, or `user`/`password`
                      parameters (ClickHouse's three ways); otherwise 401 with "Code: 516 … (AUTHENTICATION_FAILED)"
                      like ClickHouse 26.x; /ping and a bare GET / answer without credentials, as on the server
  TLS                 with --tls-cert/--tls-key, HTTPS only on the port (no client certificate asked for)
  parameters          `database` (default `default`), `default_format` (default TabSeparated), `param_<name>`
                      (query parameters), `query_id`, `session_id`/`session_timeout`/`session_check` (accepted; all
                      clients share the one session), `quota_key` (accepted, not checked),
                      `wait_end_of_query`, `buffer_size`, `enable_http_compression`; every other parameter is a
                      setting (applied with SET for that request only, then set back to its default; an unknown one
                      fails like on the server: Code 115 UNKNOWN_SETTING)
  request bodies      Content-Length or chunked; Content-Encoding gzip, deflate, zstd or lz4 (clickhouse-connect
                      compresses its inserts); ClickHouse's own `decompress=1` block framing is refused (400)
  responses           200 with the result bytes as the engine produced them, X-ClickHouse-Query-Id, -Format,
                      -Timezone, -Server-Display-Name and -Summary; on an error ClickHouse's status code mapping
                      (400/404/500/501…), X-ClickHouse-Exception-Code and the engine's text
                      "Code: N. DB::Exception: … (NAME) (version 26.x)\n"; responses are never compressed

Usage: chdb_http.py --data DIR --port PORT [--host 127.0.0.1] [--user NAME --password-file FILE]
                   [--tls-cert PEM --tls-key PEM]
The password comes from a file (first line), never from the command line.
"""

import argparse
import base64
import gzip
import hmac
import http.server
import json
import re
import signal
import socketserver
import ssl
import sys
import threading
import time
import uuid
import zlib
from urllib.parse import parse_qsl, urlsplit

import chdb

# URL parameters that are not settings (ClickHouse's HTTP handler reserves the same names).
NOT_SETTINGS = {
    "query", "database", "default_format", "query_id", "session_id", "session_timeout", "session_check",
    "user", "password", "quota_key", "compress", "decompress", "buffer_size", "wait_end_of_query",
    "enable_http_compression", "http_headers_progress_interval_ms", "stacktrace", "role", "client_protocol_version",
}

# ClickHouse's HTTP status for an exception, by error name (HTTPHandler's mapping); anything else is 500.
STATUS_BY_ERROR = {
    **dict.fromkeys(
        ["CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
         "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4",
         "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN",
         "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "TOO_DEEP_AST", "TOO_BIG_AST",
         "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
         "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", "UNKNOWN_QUERY_PARAMETER", "BAD_QUERY_PARAMETER"], 400),
    **dict.fromkeys(
        ["UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
         "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
         "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"], 404),
    **dict.fromkeys(["REQUIRED_PASSWORD", "AUTHENTICATION_FAILED", "WRONG_PASSWORD", "UNKNOWN_USER"], 401),
    **dict.fromkeys(["ACCESS_DENIED", "READONLY"], 403),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    **dict.fromkeys(["SOCKET_TIMEOUT", "CANNOT_OPEN_FILE"], 503),
}

CONTENT_TYPES = {
    "JSON": "application/json", "JSONCompact": "application/json", "JSONEachRow": "application/x-ndjson",
    "JSONCompactEachRow": "application/x-ndjson", "TabSeparated": "text/tab-separated-values",
    "TSV": "text/tab-separated-values", "TabSeparatedRaw": "text/tab-separated-values",
    "TSVRaw": "text/tab-separated-values", "TabSeparatedWithNames": "text/tab-separated-values",
    "TSVWithNames": "text/tab-separated-values", "CSV": "text/csv", "CSVWithNames": "text/csv",
}

INSERT_WITH_FORMAT = re.compile(rb"^(\s*INSERT\s.*)\bFORMAT\s+([A-Za-z0-9_]+)\s*$", re.IGNORECASE | re.DOTALL)
# The same at the start of a body that holds the statement, a newline, then the data (clickhouse-connect's inserts).
INSERT_WITH_DATA = re.compile(rb"^(\s*INSERT\s.*?)\bFORMAT\s+([A-Za-z0-9_]+)[ \t]*\r?\n", re.IGNORECASE | re.DOTALL)
FORMAT_CLAUSE = re.compile(rb"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&\s]*")
ERROR_CODE = re.compile(r"Code: (\d+)\.")
ERROR_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*$")


class Engine:
    """The one chdb session; one query at a time."""

    def __init__(self, data_dir):
        self.conn = chdb.connect(data_dir)
        self.lock = threading.Lock()
        self.version = self.conn.query("SELECT version()", "TSVRaw").bytes().decode().strip()
        self.timezone = self.conn.query("SELECT timezone()", "TSVRaw").bytes().decode().strip()

    def run(self, query, body, fmt, database, settings, params):
        """The result (bytes, summary) of `query` + newline + `body` (or `body` alone when `query` is None), with
        `settings` set for it alone; raises the engine's exception."""
        with self.lock:
            self.conn.query("USE " + quote_ident(database))
            applied = []
            try:
                for name, value in settings.items():
                    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                        raise ValueError(f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)")
                    self.conn.query(f"SET {name} = {quote_string(value)}")
                    applied.append(name)
                insert = INSERT_WITH_FORMAT.match(query) if query is not None and body else None
                data = body
                if query is None and (insert := INSERT_WITH_DATA.match(body)):
                    data = body[insert.end():]
                if insert:
                    with self.conn.send_insert(insert.group(1).decode(), insert.group(2).decode()) as stream:
                        stream.append(data)
                        done = stream.finish()
                    return b"", summary(0, 0, done.rows_written, done.bytes_written, 0, done.elapsed)
                sql = body if query is None else query + b"\n" + body
                result = self.conn.query(sql, fmt, params=params or None)
                out = result.bytes()
                return out, summary(result.rows_read(), result.bytes_read(), result.rows_written(),
                                    result.bytes_written(), len(out), result.elapsed())
            finally:
                for name in applied:
                    self.conn.query(f"SET {name} = DEFAULT")


def summary(read_rows, read_bytes, written_rows, written_bytes, result_bytes, elapsed_s):
    """X-ClickHouse-Summary's fields (numbers as strings, like the server)."""
    return {name: str(value) for name, value in [
        ("read_rows", read_rows), ("read_bytes", read_bytes), ("written_rows", written_rows),
        ("written_bytes", written_bytes), ("total_rows_to_read", 0), ("result_rows", 0),
        ("result_bytes", result_bytes), ("elapsed_ns", int(elapsed_s * 1e9))]}


def quote_ident(s):
    return "`" + s.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_string(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def decode_body(data, encoding):
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    if encoding == "zstd":
        from backports import zstd
        return zstd.decompress(data)
    if encoding == "lz4":  # a sequence of LZ4 frames (clickhouse-connect compresses each block of a stream alone)
        import lz4.frame
        out = []
        while data:
            d = lz4.frame.LZ4FrameDecompressor()
            out.append(d.decompress(data))
            if not d.eof:
                raise ValueError("Code: 432. DB::Exception: truncated LZ4 frame in the request body. "
                                 "(UNKNOWN_CODEC)")
            data = d.unused_data
        return b"".join(out)
    raise ValueError(f"Code: 48. DB::Exception: Content-Encoding '{encoding}' is not supported by the chdb test "
                     "endpoint (gzip, deflate, zstd, lz4 are). (NOT_IMPLEMENTED)")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chdb-http"
    engine = None  # set in main()
    user = "default"
    password = None  # bytes; None: no authentication (no --password-file)

    def authenticated(self, args):
        """Whether the request carries this endpoint's user and password (Basic auth, X-ClickHouse-User/-Key, or the
        user/password parameters; the first one present counts)."""
        if self.password is None:
            return True
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(auth[6:].strip(), validate=True).partition(b":")
            except ValueError:
                return False
        elif "X-ClickHouse-User" in self.headers or "X-ClickHouse-Key" in self.headers:
            user = self.headers.get("X-ClickHouse-User", "default").encode("latin-1")
            password = self.headers.get("X-ClickHouse-Key", "").encode("latin-1")
        else:
            user, password = args.get("user", "default").encode(), args.get("password", "").encode()
        return hmac.compare_digest(user, self.user.encode()) and hmac.compare_digest(password, self.password)

    def setup(self):
        # TLS: the handshake in the connection's own thread (a silent client holds up no other), within 10 s.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):
        line = PASSWORD_PARAMETER.sub(r"\1***", fmt % args)  # a request line may hold ?password=…
        sys.stderr.write("%s %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), line))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(parts)
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return decode_body(data, self.headers.get("Content-Encoding"))

    def send(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_query(with_body=False)

    def do_POST(self):
        self.handle_query(with_body=True)

    def handle_query(self, with_body):
        url = urlsplit(self.path)
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = args.get("query_id") or str(uuid.uuid4())
        common = [("X-ClickHouse-Query-Id", query_id), ("X-ClickHouse-Server-Display-Name", "chdb-http"),
                  ("X-ClickHouse-Timezone", self.engine.timezone)]
        try:
            body = self.read_body() if with_body else b""
            if url.path not in ("/", "/ping", "/query"):
                return self.send(404, b"There is no handle " + url.path.encode() + b"\n", common)
            if url.path == "/ping" or ("query" not in args and not body):
                return self.send(200, b"Ok.\n", [("Content-Type", "text/html; charset=UTF-8")])
            if not self.authenticated(args):
                raise PermissionError(f"Code: 516. DB::Exception: {args.get('user') or self.headers.get('X-ClickHouse-User') or 'default'}: "
                                      "Authentication failed: password is incorrect, or there is no user with such "
                                      "name. (AUTHENTICATION_FAILED)")
            if args.get("decompress") in ("1", "true"):
                raise ValueError("Code: 48. DB::Exception: ClickHouse's compressed-block framing (decompress=1) is "
                                 "not supported by the chdb test endpoint. (NOT_IMPLEMENTED)")
            query = args["query"].encode() if "query" in args else None
            fmt = args.get("default_format") or "TabSeparated"
            settings = {k: v for k, v in args.items() if k not in NOT_SETTINGS and not k.startswith("param_")}
            params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
            result, summary = self.engine.run(query, body, fmt, args.get("database") or "default", settings, params)
            sql = body if query is None else query
            m = FORMAT_CLAUSE.search(sql[-4096:] if sql.lstrip()[:6].upper() != b"INSERT" else b"")
            out_format = m.group(1).decode() if m else fmt
            content_type = CONTENT_TYPES.get(out_format, "application/octet-stream")
            if content_type.startswith("text/"):
                content_type += "; charset=UTF-8"
            self.send(200, result, common + [("Content-Type", content_type), ("X-ClickHouse-Format", out_format),
                                              ("X-ClickHouse-Summary", json.dumps(summary))])
        except Exception as e:  # the engine's exception, or a request this endpoint cannot serve
            text = str(e).strip()
            text = text[text.find("Code: "):] if "Code: " in text else text  # without chdb's "… failed: " prefix
            code = ERROR_CODE.search(text)
            if not code:
                text = f"Code: 1001. DB::Exception: {type(e).__name__}: {text}. (STD_EXCEPTION)"
                code = ERROR_CODE.search(text)
            name = ERROR_NAME.search(text)
            status = STATUS_BY_ERROR.get(name.group(1) if name else "", 500)
            version = "" if re.search(r"\(version [^()]*(\([^()]*\))?\)$", text) else f" (version {self.engine.version})"
            message = f"{text}{version}\n".encode()
            self.send(status, message, common + [("Content-Type", "text/plain; charset=UTF-8"),
                                                 ("X-ClickHouse-Exception-Code", code.group(1))])


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):  # e.g. plain HTTP on HTTPS
            sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {client_address[0]}: {sys.exc_info()[1]}\n")
        else:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the chdb session directory (tables persist there)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--user", default="default", help="the one user (default: default)")
    ap.add_argument("--password-file", help="the user's password: the file's first line; without it, no authentication")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM; with --tls-key)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    if args.password_file:
        with open(args.password_file, "rb") as f:
            Handler.password = f.read().split(b"\n")[0]
    Handler.user = args.user
    Handler.engine = Engine(args.data)
    server = Server((args.host, args.port), Handler)
    scheme = "http"
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    print(f"chdb_http: ClickHouse {Handler.engine.version} (chdb {chdb.__version__}) on {scheme}://{args.host}:"
          f"{args.port}, data {args.data}, user {args.user}"
          f"{' (password required)' if Handler.password is not None else ' (no authentication)'}",
          file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    with Handler.engine.lock:  # the query under way ends first
        Handler.engine.conn.close()


if __name__ == "__main__":
    main()
