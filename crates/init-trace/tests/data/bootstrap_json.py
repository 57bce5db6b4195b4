"""Differential check of the bundled bootstrap's pure-Python JSON codec against `json`.

Usage: python bootstrap_json.py <coldfront_bootstrap.py> <event.json> [<event.json> ...]

The pure-Python codec may refuse anything (the C accelerator then decides), but whatever
it accepts must give exactly what `json` gives: the same values of the same types, the
same text. Exits 1 with the first differences found.
"""

import importlib.util
import random
import sys

failures = []


def fail(message):
    failures.append(message)
    if len(failures) >= 20:
        finish()


def finish():
    for message in failures:
        print("FAIL", message)
    sys.exit(1 if failures else 0)


spec = importlib.util.spec_from_file_location("coldfront_bootstrap", sys.argv[1])
bootstrap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bootstrap)

# 1. The bundled events and typical results go through the pure-Python codec: `_json`
# (and `json`) stay unloaded, which is the point of it.
if "_json" in sys.modules:
    fail("_json was loaded before the check started")
events = {}
for path in sys.argv[2:]:
    with open(path, "rb") as fh:
        raw = fh.read()
    events[path] = bootstrap._loads(raw)
typical_results = [
    {"statusCode": 200, "body": "ok"},
    {"statusCode": 200, "headers": {"content-type": "text/html; charset=utf-8"},
     "body": "<h1>Home</h1>\n<p>caf\u00e9 \"quoted\" \\ back</p>", "isBase64Encoded": False},
    {"statusCode": 404, "body": None, "cookies": ["a=1", "b=2"], "ratio": 0.25, "n": -3},
]
encoded = [bootstrap._dumps(r, ensure_ascii=False) for r in typical_results]
if "_json" in sys.modules or "json" in sys.modules:
    fail("the bundled events or typical results loaded _json/json; the pure-Python path was not used")

import json  # noqa: E402  (only now: the check above needs a clean interpreter)

for path, value in events.items():
    with open(path, "rb") as fh:
        expected = json.loads(fh.read())
    if value != expected:
        fail("event %s decoded as %r, json gives %r" % (path, value, expected))
for result, text in zip(typical_results, encoded):
    expected = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    if text != expected:
        fail("result %r encoded as %r, json gives %r" % (result, text, expected))


def same(a, b):
    """Equal values of identical types; floats by repr, so -0.0 and NaN count."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return repr(a) == repr(b)
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def outcome(function, *args, **kwargs):
    try:
        return ("value", function(*args, **kwargs))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def same_outcome(a, b):
    if a[0] != b[0]:
        return False
    return same(a[1], b[1]) if a[0] == "value" else a == b


# 2. Random documents in every layout json writes.
rng = random.Random(20261127)
CHARS = (["a", "Z", "0", " ", "/", '"', "\\", "\x7f", "\u00e9", "\u20ac", "\U0001f600",
          "\ud800", "\udc00", "\u2028", "\ufeff"] + [chr(c) for c in range(32)])


def random_string():
    return "".join(rng.choice(CHARS) for _ in range(rng.randrange(0, 12)))


def random_number():
    return rng.choice([
        0, -0, 1, -1, 7, 2 ** 63, -(10 ** 30), rng.randrange(-10 ** 6, 10 ** 6),
        0.0, -0.0, 0.1, -2.5, 1e300, 1e-300, 5e-324, 1.7976931348623157e308,
        rng.uniform(-1e6, 1e6), rng.random(),
    ])


def random_value(depth=0):
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return {random_string(): random_value(depth + 1) for _ in range(rng.randrange(0, 5))}
    if depth < 4 and roll < 0.45:
        return [random_value(depth + 1) for _ in range(rng.randrange(0, 5))]
    return rng.choice([random_string, random_number, lambda: rng.choice([True, False, None])])()


accepted_loads = total = 0
accepted_dumps = {True: 0, False: 0}
for _ in range(3000):
    value = random_value()
    for layout in ({}, {"separators": (",", ":")}, {"indent": 2}, {"indent": "\t", "sort_keys": True},
                   {"ensure_ascii": False}):
        text = json.dumps(value, **layout)
        total += 1
        expected = json.loads(text)
        try:
            got = bootstrap._small_loads(text)
            accepted_loads += 1
            if not same(got, expected):
                fail("_small_loads(%r) = %r, json.loads gives %r" % (text, got, expected))
        except Exception:
            pass
        if not same_outcome(outcome(bootstrap._loads, text), ("value", expected)):
            fail("_loads(%r) differs from json.loads" % text)
        if not same_outcome(outcome(bootstrap._loads, text.encode("utf-8", "surrogatepass")),
                            outcome(json.loads, text.encode("utf-8", "surrogatepass"))):
            fail("_loads(%r as bytes) differs from json.loads" % text)
    for ascii_only in (True, False):
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only)
        try:
            got = bootstrap._small_dumps(value, ascii_only)
            accepted_dumps[ascii_only] += 1
            if got != expected:
                fail("_small_dumps(%r, %r) = %r, json.dumps gives %r" % (value, ascii_only, got, expected))
        except Exception:
            pass
        if bootstrap._dumps(value, ensure_ascii=ascii_only) != expected:
            fail("_dumps(%r, ensure_ascii=%r) differs from json.dumps" % (value, ascii_only))

# The pure-Python codec must not refuse most of this (a codec that refuses everything
# would pass the comparisons above and help nobody). With ensure_ascii it leaves
# non-ASCII text to `_json`, which about half of these random values have.
if accepted_loads < 0.95 * total:
    fail("_small_loads accepted only %d of %d documents" % (accepted_loads, total))
if accepted_dumps[False] < 0.95 * 3000:
    fail("_small_dumps accepted only %d of 3000 values" % accepted_dumps[False])
if accepted_dumps[True] < 0.3 * 3000:
    fail("_small_dumps(ensure_ascii) accepted only %d of 3000 values" % accepted_dumps[True])

# 3. Hand-picked texts, valid and not: whatever the pure codec returns must be json's
# value; texts json rejects must be refused, and `_loads` must fail exactly like json.
texts = [
    '"\\u00e9"', '"\\ud83d\\ude00"', '"\\uD83D\\uDE00"', '"\\ud83d"', '"\\ud83dx"',
    '"\\ud83d\\u0041"', '"\\udc00\\ud800"', '"\\/\\b\\f\\n\\r\\t\\"\\\\"', '-0', '-0.0', '1E5',
    '1e+5', '1.5e-3', '0.0', '10', '1e400', '-1e400', ' \t\n\r[1, 2]\n', '{"a":1,"a":2}',
    '"' + "1" * 5000 + '"', "[" * 50 + "]" * 50, "1" * 5000,
    "NaN", "Infinity", "-Infinity", "[NaN]",
    "", " ", "{", "[1,]", '{"a":1,}', "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5",
    '"\\x"', '"\\u12"', '"\\u+123"', '"\\u 123"', '"\\u1_23"', '"\\u0x12"', '"a\nb"',
    '"\x01"', '"\t"', "[1 2]", '{"a" 1}', "{1:2}", "tru", "nul", "fals", "[1]x", "\ufeff{}",
    "\u0661", '["unterminated]', "1_000", "0x10", "[1,\n]", '{"a":}', "[", "]", '"', "'a'",
    '{"a":1}}', "[1]]", "[-]", "[--1]", "[1e5.5]", "\u00a0[]", "[]\u00a0", "[\x00]",
]
for text in texts:
    expected = outcome(json.loads, text)
    small = outcome(bootstrap._small_loads, text)
    if small[0] == "value" and not same_outcome(small, expected):
        fail("_small_loads(%r) = %r, json.loads gives %r" % (text, small, expected))
    if not same_outcome(outcome(bootstrap._loads, text), expected):
        fail("_loads(%r) = %r, json.loads gives %r" % (text, outcome(bootstrap._loads, text), expected))
for raw in [b"\xef\xbb\xbf{}", b"\xff", b'{"a":"\xc3\xa9"}', b"[1]\x00", "\"\ud800\"".encode("utf-8", "surrogatepass")]:
    if not same_outcome(outcome(bootstrap._loads, raw), outcome(json.loads, raw)):
        fail("_loads(%r) = %r, json.loads gives %r" % (raw, outcome(bootstrap._loads, raw), outcome(json.loads, raw)))

# 4. Values the pure encoder must leave to `_json`, and how `_dumps` then behaves.
import decimal  # noqa: E402
import enum  # noqa: E402


class Colour(enum.IntEnum):
    RED = 1


class Text(str):
    pass


cycle = []
cycle.append(cycle)
deep = []
for _ in range(100):
    deep = [deep]
refused = [float("nan"), float("inf"), [float("-inf")], {1: "a"}, {None: 1}, Colour.RED, Text("x"),
           decimal.Decimal("1.5"), cycle, deep, {"set": {1}}, list(range(300)), 10 ** 5000]
for value in refused:
    try:
        bootstrap._small_dumps(value, False)
        fail("_small_dumps accepted %r" % (value,))
    except Exception:
        pass
    for default in (None, bootstrap._json_default):
        got = outcome(bootstrap._dumps, value, default=default, ensure_ascii=False)
        expected = outcome(json.dumps, value, default=default, separators=(",", ":"), ensure_ascii=False)
        if not same_outcome(got, expected):
            fail("_dumps(%r, default=%r) = %r, json.dumps gives %r" % (value, default, got, expected))

if not failures:
    print("ok: %d documents, %d decoded in pure Python; 3000 values, %d encoded in pure Python"
          " (%d with ensure_ascii)" % (total, accepted_loads, accepted_dumps[False], accepted_dumps[True]))
finish()
