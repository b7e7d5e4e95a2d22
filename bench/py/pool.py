"""Figure 3: Python multiprocessing.Pool (fork) of cpu_count workers, x*x.

argv[1]: JSON {mode: 'map-default'|'map-chunk1'|'apply', tasks, calls}
map-*: RESULT value = tasks per second; apply: microseconds per round trip.
"""
import json
import multiprocessing as mp
import sys
import time


def square(x):
    return x * x


def main():
    p = json.loads(sys.argv[1])
    mode, tasks, calls = p["mode"], p.get("tasks", 100000), p.get("calls", 2000)
    with mp.get_context("fork").Pool(mp.cpu_count()) as pool:
        pool.map(square, range(2000), chunksize=1 if mode == "map-chunk1" else None)
        if mode == "apply":
            for i in range(200):
                pool.apply(square, (i,))
            t0 = time.perf_counter()
            for i in range(calls):
                pool.apply(square, (i,))
            value = (time.perf_counter() - t0) / calls * 1e6
        else:
            t0 = time.perf_counter()
            out = pool.map(square, range(tasks), chunksize=1 if mode == "map-chunk1" else None)
            value = tasks / (time.perf_counter() - t0)
            assert out[-1] == (tasks - 1) ** 2
    print("RESULT " + json.dumps({"value": value}))


if __name__ == "__main__":
    main()
