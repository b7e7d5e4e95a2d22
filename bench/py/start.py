"""Figures 1 and 8: Python process (or thread) start + join with a no-op target.

argv[1]: JSON {contender: 'mp-process' | 'os-fork' | 'thread', n}; prints RESULT {value: ms per op}.
"""
import json
import multiprocessing as mp
import os
import sys
import threading
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

    def thread_once():
        t = threading.Thread(target=noop)
        t.start()
        t.join()
        assert not t.is_alive()

    once = {"mp-process": mp_once, "os-fork": fork_once, "thread": thread_once}[contender]
    for _ in range(2):
        once()
    t0 = time.perf_counter()
    for _ in range(n):
        once()
    print("RESULT " + json.dumps({"value": (time.perf_counter() - t0) / n * 1e3}))


if __name__ == "__main__":
    main()
