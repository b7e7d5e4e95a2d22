"""Figure 4: Python locks. argv[1]: JSON {contender: 'threading'|'mp', mode:
'uncontended'|'threads'|'processes', n}. RESULT value = ns per acquire+release
(contended: total time over both sides' n lock/increment/unlock each)."""
import json
import multiprocessing as mp
import os
import sys
import threading
import time


def spin(lock, counter, n):
    for _ in range(n):
        lock.acquire()
        counter[0] += 1
        lock.release()


def main():
    p = json.loads(sys.argv[1])
    contender, mode, n = p["contender"], p["mode"], p.get("n", 1000000)
    ctx = mp.get_context("fork")
    if contender == "threading" and mode == "processes":
        print("SKIP n/a: a threading.Lock is private to one process")
        return
    lock = threading.Lock() if contender == "threading" else ctx.Lock()
    counter = [0]
    if mode == "uncontended":
        spin(lock, counter, min(n, 100000))
        t0 = time.perf_counter()
        spin(lock, counter, n)
        value = (time.perf_counter() - t0) / n * 1e9
    elif mode == "threads":
        t = threading.Thread(target=spin, args=(lock, counter, n))
        t0 = time.perf_counter()
        t.start()
        spin(lock, counter, n)
        t.join()
        value = (time.perf_counter() - t0) / (2 * n) * 1e9
    else:
        t0 = time.perf_counter()
        proc = ctx.Process(target=spin, args=(lock, [0], n))
        proc.start()
        spin(lock, counter, n)
        proc.join()
        value = (time.perf_counter() - t0) / (2 * n) * 1e9
        assert proc.exitcode == 0
    print("RESULT " + json.dumps({"value": value}))


if __name__ == "__main__":
    main()
