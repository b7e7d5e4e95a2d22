"""Figure 1: Python process start + join with a no-op target.

argv[1]: JSON {contender: 'mp-process' | 'os-fork', n}; prints RESULT {value: ms per op}.
"""
import json
import multiprocessing as mp
import os
import sys
import time


def noop():
    pass


def main():
    p = json.loads(sys.argv[1])
    n, contender = p.get("n", 20), p["contender"]
    ctx = mp.get_context("fork")

    def mp_once():
        proc = ctx.Process(target=noop)
        proc.start()
        proc.join()
        assert proc.exitcode == 0

    def fork_once():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert status == 0

    once = {"mp-process": mp_once, "os-fork": fork_once}[contender]
    for _ in range(2):
        once()
    t0 = time.perf_counter()
    for _ in range(n):
        once()
    print("RESULT " + json.dumps({"value": (time.perf_counter() - t0) / n * 1e3}))


if __name__ == "__main__":
    main()
