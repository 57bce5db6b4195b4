"""Runs an oracleGeneral trace through libCacheSim's own Python bindings (the C engine).

The peer that coldfront's LRU and FIFO are checked and timed against (the
cdn-design libcachesim test and `cargo xtask bench`). Prints one JSON object per run:

    python libcachesim_run.py TRACE ALGORITHM CACHE_SIZE [bytes|objects] ...

ALGORITHM is LRU or FIFO; CACHE_SIZE is in objects, or in bytes with `bytes`. Several
ALGORITHM CACHE_SIZE UNIT triples may follow one another. `seconds` covers opening the
reader and process_trace, the same span coldfront's own timing covers.
"""

import json
import sys
import time

import libcachesim as lcs


def run(trace, algorithm, cache_size, unit):
    started = time.perf_counter()
    reader = lcs.TraceReader(
        trace=trace,
        trace_type=lcs.TraceType.ORACLE_GENERAL_TRACE,
        reader_init_params=lcs.ReaderInitParam(ignore_obj_size=(unit == "objects")),
    )
    cache = getattr(lcs, algorithm)(cache_size=cache_size)
    miss_ratio, byte_miss_ratio = cache.process_trace(reader)
    seconds = time.perf_counter() - started
    return {
        "algorithm": algorithm,
        "cache_size": cache_size,
        "unit": unit,
        "miss_ratio": miss_ratio,
        "byte_miss_ratio": byte_miss_ratio,
        "seconds": seconds,
    }


def main(argv):
    trace, rest = argv[1], argv[2:]
    if not rest or len(rest) % 3:
        sys.exit("usage: libcachesim_run.py TRACE (ALGORITHM CACHE_SIZE bytes|objects)...")
    for i in range(0, len(rest), 3):
        algorithm, size, unit = rest[i], int(rest[i + 1]), rest[i + 2]
        print(json.dumps(run(trace, algorithm, size, unit)), flush=True)


if __name__ == "__main__":
    main(sys.argv)
