from time import monotonic_ns as _monotonic_ns; _T_FIRST_LINE_NS = _monotonic_ns()  # noqa: E702
"""coldfront's Python runtime: a minimal client of the Lambda Runtime API (2018-06-01).

Why it exists: a runtime's own imports are inside every INIT it measures. A bootstrap
written the obvious way, on `http.client` or `urllib.request`, spends ~30 ms importing
them on this machine (docs/sources.md, "Measurement pitfalls": `-S -c "import socket"`
18 ms against `-S -c "import http.client"` 45 ms and `urllib.request` 60 ms), and that
cost would land in every user's INIT number. So this file imports only `os` and `sys` (already
loaded at startup) and `_socket` (the C module under `socket.py`; `socket.py` itself
adds `selectors`, `collections` and `enum`, ~10 ms) and speaks HTTP/1.1 over one
keep-alive TCP connection itself. Everything else (`traceback`, `time`) is imported
lazily on the paths that need it, so it lands after INIT. Events and results are JSON,
but `json` is never imported for them: small ones are read and written in pure Python
here (loading even the C accelerator `_json` would add ~0.3 ms to every cold invoke),
larger ones by `_json` alone, and only what those refuse goes to `json` for its errors.
The emulator runs this file precompiled (`python coldfront_bootstrap.pyc`), as Lambda
ships its runtime precompiled, so its compilation is not charged either. Modules the
user's code imports are therefore charged to the user's import tree, not hidden because
the runtime loaded them first. The bundled control function makes whatever this file
still costs visible.

Contract (what the emulator relies on):

    <python> <dir>/coldfront_bootstrap.py[c]       # cwd = task root

Environment: `_HANDLER` (`module.function`, `pkg.mod.function`, or `dir/mod.function`),
`AWS_LAMBDA_RUNTIME_API` (`host:port`), `LAMBDA_TASK_ROOT` (defaults to the cwd) and
the usual `AWS_LAMBDA_*` variables, which are read into the context object.
`COLDFRONT_BOOTSTRAP_EXIT_BEFORE_NEXT=1` makes the process write
`coldfront-ready <CLOCK_MONOTONIC ns>` on stdout and `os._exit(0)` right after the
handler has been loaded, without contacting the Runtime API (a benchmark baseline:
import cost without interpreter shutdown; docs/sources.md, "Measurement pitfalls").

Exit status: 1 after an init error has been reported (or could not be reported), 1
when the Runtime API is unreachable after one reconnect, 0 in the baseline mode.
Error types posted: `Runtime.MalformedHandlerName`, `Runtime.BuiltInModuleConflict`,
`Runtime.ImportModuleError`, `Runtime.UserCodeSyntaxError`, `Runtime.HandlerNotFound`
(init); the exception's class name for any other exception raised while importing the
handler module (as awslambdaric and Lambda do); `Unhandled` header with the exception's
class name as `errorType` for handler exceptions; `Runtime.MarshalError` and
`Runtime.UnmarshalError` for results and events that are not JSON;
`Runtime.LambdaContextUnmarshalError` for bad client-context/identity headers.

INIT marks: the first `GET /next` carries a header `Coldfront-Init-Marks` with
`CLOCK_MONOTONIC` timestamps (ns) of the bootstrap's first line and of the start and end
of the handler import, so the emulator can split INIT into runtime start, handler import
and the runtime's own call to `/next`. The first line is the `time` import above: the
module docstring is placed after it on purpose (Python still uses the docstring-less
layout without complaint; `time` is a built-in module, so the import costs microseconds).
Lambda ignores headers it does not know.

INIT segments: the module `coldfront_trace` is put in `sys.modules` (no import cost) with
`segment(name)`, a context manager that times a block. Blocks timed during INIT are kept
and sent as X-Ray subsegment documents to `AWS_XRAY_DAEMON_ADDRESS` on the first invoke,
with that invoke's trace id — the X-Ray SDK discards subsegments made during INIT inside
Lambda (aws-xray-sdk-python #185), so they cannot be sent earlier. Code that must also
run elsewhere imports it as
`try: from coldfront_trace import segment` / `except ImportError: segment = None`.
"""

import os
import sys
import _socket

_API_PREFIX = "/2018-06-01/runtime"
_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_USER_AGENT = "coldfront-bootstrap/0.1 python/%d.%d.%d" % sys.version_info[:3]
_MARKS_HEADER = "Coldfront-Init-Marks"


class _Segments(object):
    """`coldfront_trace.segment(name)`: times a block; see the module docstring."""

    pending = []
    initialising = True

    class segment(object):
        def __init__(self, name):
            self.name = str(name)

        def __enter__(self):
            self.start_ns = _monotonic_ns()
            self.start_epoch_s = _epoch_s()
            return self

        def __exit__(self, kind, value, traceback):
            end_ns = _monotonic_ns()
            _Segments.record(self.name, self.start_ns, end_ns, self.start_epoch_s, kind is not None)
            return False

    @staticmethod
    def record(name, start_ns, end_ns, start_epoch_s, failed):
        entry = (name, start_ns, end_ns, start_epoch_s, failed, _Segments.initialising)
        _Segments.pending.append(entry)
        if not _Segments.initialising:
            _Segments.flush(os.environ.get("_X_AMZN_TRACE_ID", ""))

    @staticmethod
    def flush(trace_header):
        """Send the kept segments as X-Ray subsegments of the current invocation."""
        if not _Segments.pending:
            return
        address = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "")
        host, _, port = address.rpartition(":")
        fields = dict(part.split("=", 1) for part in trace_header.split(";") if "=" in part)
        sock = None
        try:
            sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
            for name, start_ns, end_ns, start_epoch_s, failed, during_init in _Segments.pending:
                document = {
                    "type": "subsegment",
                    "name": name,
                    "id": os.urandom(8).hex(),
                    "trace_id": fields.get("Root", ""),
                    "parent_id": fields.get("Parent", ""),
                    "start_time": start_epoch_s,
                    "end_time": start_epoch_s + (end_ns - start_ns) / 1e9,
                    "namespace": "local",
                    "metadata": {"coldfront": {
                        "monotonic_start_ns": start_ns,
                        "monotonic_end_ns": end_ns,
                        "phase": "init" if during_init else "invoke",
                    }},
                }
                if failed:
                    document["fault"] = True
                sock.sendto(b'{"format":"json","version":1}\n' + _dumps(document).encode("utf-8"),
                            (host.encode("ascii"), int(port)))
        except (OSError, ValueError):
            pass
        finally:
            _Segments.pending = []
            if sock is not None:
                sock.close()


def _epoch_s():
    from time import time
    return time()


def _install_trace_module():
    module = type(sys)("coldfront_trace")
    module.segment = _Segments.segment
    module.__doc__ = "Time blocks during INIT; see coldfront's bootstrap."
    sys.modules["coldfront_trace"] = module


class _ConnectionLost(Exception):
    """The server closed the connection or the socket failed before a response."""


class _Reader:
    """Buffered reads from a raw socket: lines for the head, sized reads for bodies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if data:
            self.buf += data
        return len(data)

    def read_head(self, limit=65536):
        """A response's status line and headers as latin-1 text, without the blank line
        that ends them (consumed too); None if the peer closed before sending anything.
        One search and one decode for the whole head, rather than a call per line."""
        buf = self.buf
        start = 0
        while True:
            crlf = buf.find(b"\n\r\n", start)
            lf = buf.find(b"\n\n", start)
            if crlf >= 0 and (lf < 0 or crlf < lf):
                head = buf[:crlf].decode("latin-1")
                del buf[:crlf + 3]
                return head
            if lf >= 0:
                head = buf[:lf].decode("latin-1")
                del buf[:lf + 2]
                return head
            if len(buf) > limit:
                raise _ConnectionLost("response head longer than %d bytes" % limit)
            start = max(0, len(buf) - 2)
            if not self._fill():
                if buf:
                    raise _ConnectionLost("connection closed inside headers")
                return None

    def readline(self, limit=65536):
        """One line including its newline; what is left when the peer closes; b"" at EOF."""
        buf = self.buf
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end >= 0:
                end += 1
                break
            if len(buf) > limit:
                raise _ConnectionLost("header line longer than %d bytes" % limit)
            start = len(buf)
            if not self._fill():
                end = len(buf)
                break
        line = bytes(buf[:end])
        del buf[:end]
        return line

    def read(self, size):
        """Exactly `size` bytes, or fewer if the peer closes first."""
        while len(self.buf) < size:
            if not self._fill():
                break
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def read_to_eof(self):
        while self._fill():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data


class _RuntimeApi:
    """HTTP/1.1 over one keep-alive socket to the Runtime API, reconnecting once.

    Built on `_socket` (the C module `socket.py` wraps) rather than `socket`: `socket.py`
    pulls in `selectors`, `collections` and `enum`, about 10 ms here that would otherwise
    be charged to the user's INIT, and hidden from their import tree when they import it.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            _die("AWS_LAMBDA_RUNTIME_API must be host:port, got %r" % address)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self.host_header = address
        self.addr = (host, int(port))
        self.sock = None
        self.reader = None

    def _connect(self):
        last_error = None
        # The host goes in as bytes: getaddrinfo encodes a str host with the idna codec,
        # whose import (encodings.idna, stringprep, re, enum) costs ~10 ms of INIT.
        for family, kind, proto, _, sockaddr in _socket.getaddrinfo(
                self.addr[0].encode("ascii"), self.addr[1], 0, _socket.SOCK_STREAM):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            # Without TCP_NODELAY a small POST followed by the next GET can stall ~40 ms
            # on Nagle plus delayed ACK (docs/sources.md, "Measurement pitfalls").
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self.sock = sock
            self.reader = _Reader(sock)
            return
        raise last_error or OSError("no address for %s" % self.addr[0])

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.reader = None

    def request(self, method, path, body=b"", headers=()):
        """Send one request; return (status, headers with lower-case names, body)."""
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n" % (
            method, path, self.host_header, _USER_AGENT)
        for name, value in headers:
            head += "%s: %s\r\n" % (name, value)
        if body or method != "GET":
            head += "Content-Length: %d\r\n" % len(body)
        data = head.encode("latin-1") + b"\r\n" + body
        last_error = None
        for attempt in (1, 2):
            try:
                if self.sock is None:
                    self._connect()
                return self._exchange(data)
            except (_ConnectionLost, OSError) as exc:
                last_error = exc
                self.close()
        _die("Runtime API at %s:%d unreachable for %s %s after one reconnect: %s"
             % (self.addr[0], self.addr[1], method, path, last_error))

    def _exchange(self, data):
        send_error = None
        try:
            self.sock.sendall(data)
        except OSError as exc:
            # The server may have answered early (e.g. 413) and closed its side; try to
            # read that answer before treating the connection as lost.
            send_error = exc
        try:
            response = self._read_response()
        except (OSError, ValueError) as exc:
            raise _ConnectionLost(send_error or exc)
        if response is None:
            raise _ConnectionLost(send_error or "connection closed by server")
        return response

    def _read_response(self):
        reader = self.reader
        while True:
            head = reader.read_head()
            if head is None:
                return None
            lines = head.split("\n")
            parts = lines[0].split(None, 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise _ConnectionLost("malformed status line %r" % lines[0][:100])
            status = int(parts[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                value = value.strip()
                if name in headers:
                    headers[name] += ", " + value
                else:
                    headers[name] = value
            if 100 <= status < 200:
                continue  # interim response (100 Continue): the real one follows
            break
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = reader.read(length)
            if len(body) != length:
                raise _ConnectionLost("connection closed inside body")
        else:
            body = reader.read_to_eof()
            self.close()
            return status, headers, body
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _read_chunked(self):
        reader = self.reader
        chunks = []
        while True:
            line = reader.readline()
            if not line:
                raise _ConnectionLost("connection closed inside chunked body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers up to the blank line
                    line = reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        return b"".join(chunks)
            chunk = reader.read(size)
            if len(chunk) != size:
                raise _ConnectionLost("connection closed inside chunk")
            chunks.append(chunk)
            reader.readline()  # the CRLF after the chunk


class _CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, cognito_identity_id=None, cognito_identity_pool_id=None):
        self.cognito_identity_id = cognito_identity_id
        self.cognito_identity_pool_id = cognito_identity_pool_id


class _Client:
    __slots__ = ("installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name")


class _ClientContext:
    __slots__ = ("custom", "env", "client")


def _obj_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field) if isinstance(values, dict) else None)
    return obj


class LambdaContext:
    """The `context` argument, shaped like AWS's Python runtime's LambdaContext."""

    def __init__(self, request_id, deadline_ms, function_arn, client_context, identity):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = function_arn
        memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.memory_limit_in_mb = int(memory) if memory and memory.isdigit() else memory
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = _obj_from_dict(_ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(_Client, self.client_context.client)
        identity = identity if isinstance(identity, dict) else {}
        self.identity = _CognitoIdentity(identity.get("cognitoIdentityId"),
                                         identity.get("cognitoIdentityPoolId"))
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        import time  # builtin module, already loaded by site; imported here to keep the top lean
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn))


class _Fault(Exception):
    def __init__(self, error_type, message, stack=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.stack = stack if stack is not None else []


def _die(message):
    _flush()
    sys.stderr.write("coldfront-bootstrap: %s\n" % message)
    _flush()
    os._exit(1)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except Exception:
                pass


def _stack_of(tb):
    """Formatted frames of `tb` without the leading frames of this file."""
    import traceback
    own = __file__
    while tb is not None and tb.tb_frame.f_code.co_filename == own:
        tb = tb.tb_next
    # Import machinery frames say nothing about the user's code; Python's own
    # traceback printer hides them too.
    frames = [f for f in traceback.extract_tb(tb)
              if not f.filename.startswith("<frozen importlib")]
    return traceback.format_list(frames)


def _log_error(error_type, message, stack):
    lines = ["[ERROR] %s: %s" % (error_type, message), "Traceback (most recent call last):"]
    for frame in stack:
        lines.append(frame.rstrip("\n"))
    sys.stdout.flush()
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


_json_module = None


def _json():
    """The json module, imported on first use: after INIT unless INIT fails. In a clean
    interpreter `import json` costs ~10 ms (it pulls in re and enum), which would otherwise
    be charged to every function's INIT although the runtime only needs it per event."""
    global _json_module
    if _json_module is None:
        import json
        _json_module = json
    return _json_module


class _ScanContext(object):
    """What the C scanner in `_json` reads from a JSONDecoder: its plain settings."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo = None

    @staticmethod
    def parse_constant(name):
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


_scanner = None
_WHITESPACE = " \t\n\r"

# Below these sizes the pure-Python codec below costs less than loading `_json`, a shared
# library whose import (finder, dlopen) takes 0.3-0.4 ms here. Measured on the bundled
# events, first call, median of 11 fresh interpreters: 462 bytes decode in 0.10 ms,
# 1,150 bytes in 0.16 ms.
_SMALL_JSON_CHARS = 4096
_SMALL_JSON_VALUES = 256


class _NotSmall(Exception):
    """The pure-Python codec declines; `_json` (and json's own errors) decide instead."""


def _small_value(s, i, strict):
    """The value starting at `i`, after any whitespace: (value, index after it). Running
    off the end raises IndexError, which the callers treat like any refusal. `strict`
    says whether strings must be checked for raw control characters (`s` has some)."""
    ws = _WHITESPACE
    while s[i] in ws:
        i += 1
    c = s[i]
    if c == '"':
        return _small_string(s, i + 1, strict)
    if c == "{":
        obj = {}
        i += 1
        while s[i] in ws:
            i += 1
        if s[i] == "}":
            return obj, i + 1
        while True:
            if s[i] != '"':
                raise _NotSmall
            key, i = _small_string(s, i + 1, strict)
            while s[i] in ws:
                i += 1
            if s[i] != ":":
                raise _NotSmall
            obj[key], i = _small_value(s, i + 1, strict)
            while s[i] in ws:
                i += 1
            if s[i] == "}":
                return obj, i + 1
            if s[i] != ",":
                raise _NotSmall
            i += 1
            while s[i] in ws:
                i += 1
    if c == "[":
        arr = []
        i += 1
        while s[i] in ws:
            i += 1
        if s[i] == "]":
            return arr, i + 1
        while True:
            value, i = _small_value(s, i, strict)
            arr.append(value)
            while s[i] in ws:
                i += 1
            if s[i] == "]":
                return arr, i + 1
            if s[i] != ",":
                raise _NotSmall
            i += 1
    if c == "n" and s.startswith("null", i):
        return None, i + 4
    if c == "t" and s.startswith("true", i):
        return True, i + 4
    if c == "f" and s.startswith("false", i):
        return False, i + 5
    return _small_number(s, i)


def _small_number(s, i):
    """JSON's number grammar exactly, ASCII digits only, as the C scanner reads it;
    NaN and Infinity are left to it."""
    start = i
    n = len(s)
    if i < n and s[i] == "-":
        i += 1
    if i < n and s[i] == "0":
        i += 1
    elif i < n and "1" <= s[i] <= "9":
        i += 1
        while i < n and "0" <= s[i] <= "9":
            i += 1
    else:
        raise _NotSmall
    is_float = False
    if i + 1 < n and s[i] == "." and "0" <= s[i + 1] <= "9":
        i += 2
        while i < n and "0" <= s[i] <= "9":
            i += 1
        is_float = True
    if i < n and s[i] in "eE":
        j = i + 1
        if j < n and s[j] in "+-":
            j += 1
        if j < n and "0" <= s[j] <= "9":
            while j < n and "0" <= s[j] <= "9":
                j += 1
            i = j
            is_float = True
    text = s[start:i]
    return (float(text) if is_float else int(text)), i


_SHORT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX_DIGITS = "0123456789abcdefABCDEF"


def _small_hex4(s, i):
    digits = s[i:i + 4]
    if len(digits) != 4 or not all(d in _HEX_DIGITS for d in digits):
        raise _NotSmall
    return int(digits, 16)


def _small_string(s, i, strict):
    """The string whose opening quote is just before `i`: (value, index after its closing
    quote). With `strict`, raw control characters are refused, as json's strict mode
    does."""
    chunks = []
    while True:
        end = s.index('"', i)
        backslash = s.find("\\", i, end)
        stop = end if backslash < 0 else backslash
        chunk = s[i:stop]
        if strict and chunk and min(chunk) < " ":
            raise _NotSmall
        if backslash < 0:
            if not chunks:
                return chunk, end + 1
            chunks.append(chunk)
            return "".join(chunks), end + 1
        chunks.append(chunk)
        kind = s[backslash + 1]
        if kind != "u":
            chunks.append(_SHORT_ESCAPES[kind])
            i = backslash + 2
            continue
        code = _small_hex4(s, backslash + 2)
        i = backslash + 6
        # A high surrogate followed by an escaped low one is one character, as in json.
        if 0xD800 <= code <= 0xDBFF and s.startswith("\\u", i):
            low = _small_hex4(s, i + 2)
            if 0xDC00 <= low <= 0xDFFF:
                code = 0x10000 + (((code - 0xD800) << 10) | (low - 0xDC00))
                i += 6
        chunks.append(chr(code))


_escape_tables = None


def _small_str(value, ascii_only):
    """A JSON string as json's C encoder writes it: `"`, `\\` and control characters
    escaped, and with `ascii_only` DEL too (anything else non-ASCII is refused then)."""
    global _escape_tables
    if ascii_only and not value.isascii():
        raise _NotSmall
    if '"' in value or "\\" in value or (value and min(value) < " ") or (ascii_only and "\x7f" in value):
        if _escape_tables is None:
            table = {code: "\\u%04x" % code for code in range(32)}
            table.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\b"): "\\b", ord("\f"): "\\f",
                          ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
            _escape_tables = (table, {**table, 0x7F: "\\u007f"})
        value = value.translate(_escape_tables[ascii_only])
    return '"' + value + '"'


def _small_encode(value, out, ascii_only, budget):
    """Appends the JSON of `value` to `out`; only the exact built-in types, finite floats
    and string keys, at most `budget[0]` values and 64 levels (so a cycle ends here and
    the C encoder reports it)."""
    budget[0] -= 1
    if budget[0] < 0 or len(budget) > 64:
        raise _NotSmall
    kind = type(value)
    if kind is str:
        out.append(_small_str(value, ascii_only))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _NotSmall
        out.append(float.__repr__(value))
    elif kind is dict:
        out.append("{")
        budget.append(None)
        for index, (key, item) in enumerate(value.items()):
            if type(key) is not str:
                raise _NotSmall
            if index:
                out.append(",")
            out.append(_small_str(key, ascii_only))
            out.append(":")
            _small_encode(item, out, ascii_only, budget)
        budget.pop()
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        budget.append(None)
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _small_encode(item, out, ascii_only, budget)
        budget.pop()
        out.append("]")
    else:
        raise _NotSmall


def _small_loads(text):
    """`json.loads(text)` for what the pure-Python codec accepts; raises otherwise."""
    # Compact JSON (as Lambda's event sources send it) has no control characters at
    # all, so its strings need no check for them.
    value, end = _small_value(text, 0, bool(text) and min(text) < " ")
    if text[end:].strip(_WHITESPACE):
        raise _NotSmall
    return value


def _small_dumps(value, ascii_only):
    """`json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only)` for what the
    pure-Python codec accepts; raises otherwise."""
    out = []
    _small_encode(value, out, ascii_only, [_SMALL_JSON_VALUES])
    return "".join(out)


def _loads(data):
    """`json.loads(data)`, without importing `json` (and with it `re` and `enum`, ~10 ms
    in a clean interpreter that would land in the first invoke of every function that
    does not import json itself). Small documents are read in pure Python until `_json`
    is loaded anyway, so the cold invoke does not pay for loading it either; the rest go
    through the C scanner of `_json`. Anything unusual — bytes that are not UTF-8,
    trailing data, a syntax error — goes to the real `json.loads`, so results and error
    messages are exactly json's."""
    global _scanner
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        if len(text) <= _SMALL_JSON_CHARS and "_json" not in sys.modules:
            try:
                return _small_loads(text)
            except Exception:
                pass
        text = text.strip(_WHITESPACE)
        if _scanner is None:
            import _json as c_json
            _scanner = c_json.make_scanner(_ScanContext())
        value, end = _scanner(text, 0)
        if end == len(text):
            return value
    except Exception:
        pass
    return _json().loads(data)


def _dumps(value, default=None, ensure_ascii=True):
    """`json.dumps(value, separators=(",", ":"))`: small values of the built-in types in
    pure Python until `_json` is loaded, for the same reason as `_loads`; the rest through
    the C encoder of `_json`, falling back to `json.dumps` for anything it refuses."""
    if "_json" not in sys.modules:
        try:
            return _small_dumps(value, ensure_ascii)
        except Exception:
            pass
    try:
        import _json as c_json
        encode_string = c_json.encode_basestring_ascii if ensure_ascii else c_json.encode_basestring
        encoder = c_json.make_encoder({}, default, encode_string, None, ":", ",", False, False, True)
        return "".join(encoder(value, 0))
    except Exception:
        return _json().dumps(value, default=default, ensure_ascii=ensure_ascii, separators=(",", ":"))


def _error_body(error_type, message, stack, request_id=""):
    return _dumps({"errorMessage": message, "errorType": error_type,
                   "requestId": request_id, "stackTrace": stack}).encode("utf-8")


def _fix_sys_path(task_root):
    own_dir = os.path.dirname(os.path.realpath(__file__))
    path = sys.path
    if path:
        first = path[0] or os.getcwd()
        if os.path.realpath(first) == own_dir and own_dir != os.path.realpath(task_root):
            del path[0]
    path[:] = [p for p in path if p != task_root]
    path.insert(0, task_root)


def _load_handler(name):
    """Import the handler module and return the function, or raise _Fault."""
    modname, dot, fname = name.rpartition(".")
    if not dot or not modname or not fname:
        raise _Fault("Runtime.MalformedHandlerName",
                     "Bad handler '%s': not enough values to unpack (expected 2, got 1)"
                     % name)
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict",
                     "Cannot use built-in module %s as a handler module" % modname)
    dotted = modname.replace("/", ".")
    try:
        __import__(dotted)
        module = sys.modules[dotted]
    except ImportError as exc:
        raise _Fault("Runtime.ImportModuleError",
                     "Unable to import module '%s': %s" % (modname, exc),
                     _stack_of(exc.__traceback__))
    except SyntaxError as exc:
        raise _Fault("Runtime.UserCodeSyntaxError",
                     "Syntax error in module '%s': %s" % (modname, exc),
                     ['  File "%s" Line %s\n    %s' % (exc.filename, exc.lineno,
                                                      (exc.text or "").strip())])
    except Exception as exc:
        # Lambda and awslambdaric report any other exception under its own class name.
        raise _Fault(type(exc).__name__, str(exc), _stack_of(exc.__traceback__))
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound",
                     "Handler '%s' missing on module '%s'" % (fname, modname))


def _json_default(obj):
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def _parse_json_header(value, what):
    if not value:
        return None
    try:
        return _loads(value)
    except ValueError as exc:
        raise _Fault("Runtime.LambdaContextUnmarshalError",
                     "Unable to parse %s JSON: %s" % (what, exc))


def _invoke(handler, status_headers_body):
    """Run one invocation; return (path suffix, body, extra headers)."""
    _, headers, body = status_headers_body
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        deadline = headers.get("lambda-runtime-deadline-ms", "")
        context = LambdaContext(
            request_id,
            int(deadline) if deadline.isdigit() else 0,
            headers.get("lambda-runtime-invoked-function-arn"),
            _parse_json_header(headers.get("lambda-runtime-client-context"), "Client Context"),
            _parse_json_header(headers.get("lambda-runtime-cognito-identity"),
                               "Cognito Identity"))
        content_type = headers.get("content-type", "application/json")
        if content_type.split(";")[0].strip().lower() == "application/json":
            try:
                event = _loads(body) if body else None
            except ValueError as exc:
                raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % exc)
        else:
            event = body
        result = handler(event, context)
        if isinstance(result, bytes):
            # As awslambdaric: bytes are sent as they are.
            return "response", result, (("Content-Type", "application/unknown"),)
        try:
            payload = _dumps(result, default=_json_default, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % exc)
        return "response", payload, (("Content-Type", "application/json"),)
    except _Fault as fault:
        _log_error(fault.error_type, fault.message, fault.stack)
        return ("error", _error_body(fault.error_type, fault.message, fault.stack, request_id),
                ((_ERROR_TYPE_HEADER, fault.error_type),))
    except Exception as exc:
        error_type = type(exc).__name__
        stack = _stack_of(exc.__traceback__)
        _log_error(error_type, str(exc), stack)
        return ("error", _error_body(error_type, str(exc), stack, request_id),
                ((_ERROR_TYPE_HEADER, "Unhandled"),))


def main():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except Exception:
            pass

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    _fix_sys_path(task_root)
    exit_before_next = os.environ.get("COLDFRONT_BOOTSTRAP_EXIT_BEFORE_NEXT") == "1"
    api_address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not exit_before_next and not api_address:
        _die("AWS_LAMBDA_RUNTIME_API is not set; it must be host:port of the Runtime API")
    handler_name = os.environ.get("_HANDLER", "")

    _install_trace_module()
    t_import_start_ns = _monotonic_ns()
    try:
        handler = _load_handler(handler_name)
    except _Fault as fault:
        _log_error(fault.error_type, fault.message, fault.stack)
        if not exit_before_next:
            api = _RuntimeApi(api_address)
            status, _, answer = api.request(
                "POST", _API_PREFIX + "/init/error",
                _error_body(fault.error_type, fault.message, fault.stack),
                ((_ERROR_TYPE_HEADER, fault.error_type),
                 ("Content-Type", "application/json")))
            if not 200 <= status < 300:
                sys.stderr.write("coldfront-bootstrap: POST /runtime/init/error answered %d: %s\n"
                                 % (status, answer[:500].decode("utf-8", "replace")))
        _flush()
        os._exit(1)

    t_import_end_ns = _monotonic_ns()
    if exit_before_next:
        # Where the runtime would start talking to the Runtime API; a benchmark compares
        # exec → here with the emulator's exec → first GET /next received.
        os.write(1, b"coldfront-ready %d\n" % _monotonic_ns())
        _flush()
        os._exit(0)

    api = _RuntimeApi(api_address)
    next_path = _API_PREFIX + "/invocation/next"
    marks = ((_MARKS_HEADER, "first_line=%d;handler_import_start=%d;handler_import_end=%d"
              % (_T_FIRST_LINE_NS, t_import_start_ns, t_import_end_ns)),)
    while True:
        response = api.request("GET", next_path, headers=marks)
        marks = ()
        if _Segments.initialising:
            _Segments.initialising = False
            _Segments.flush(response[1].get("lambda-runtime-trace-id", ""))
        status = response[0]
        if status != 200:
            _die("GET %s answered %d: %s"
                 % (next_path, status, response[2][:500].decode("utf-8", "replace")))
        request_id = response[1].get("lambda-runtime-aws-request-id", "")
        kind, payload, headers = _invoke(handler, response)
        _flush()
        path = "%s/invocation/%s/%s" % (_API_PREFIX, request_id, kind)
        status, _, answer = api.request("POST", path, payload, headers)
        if not 200 <= status < 300:
            sys.stderr.write("coldfront-bootstrap: POST %s answered %d: %s\n"
                             % (path, status, answer[:500].decode("utf-8", "replace")))
            sys.stderr.flush()
        # Drop references to this invocation's objects before blocking on the next one.
        response = payload = answer = None


if __name__ == "__main__":
    main()
