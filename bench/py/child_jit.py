"""Figure 6: the same workloads in Python, a forked child against its parent.

argv[1]: JSON {workload: 'primes' | 'smallCalls' | 'recursion', n}; prints RESULT {value: child ms
/ parent ms, parentMs, childMs}. CPython has no JIT: the ratio shows what fork alone
costs a child's code.
"""
import json
import os
import sys
import time


def primes(n):
    count = 0
    for i in range(2, n):
        prime = True
        d = 2
        while d * d <= i:
            if i % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count


def small_calls(n):
    def mix(a, b):
        return (((a ^ (b << 3)) & 0xFFFFFFFF) + ((a & 0xFFFFFFFF) >> 2)) & 0xFFFFFFFF

    s = 1
    for i in range(n):
        s = mix(s, i)
    return s


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def timed(fn, n):
    t0 = time.perf_counter()
    value = fn(n)
    return (time.perf_counter() - t0) * 1e3, value


def main():
    p = json.loads(sys.argv[1])
    fn = {"primes": primes, "smallCalls": small_calls, "recursion": fib}[p["workload"]]
    n = int(p["n"])
    parent_ms, parent_value = timed(fn, n)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, json.dumps(timed(fn, n)).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
    child_ms, child_value = json.loads(data)
    assert child_value == parent_value
    print(
        "RESULT "
        + json.dumps({"value": child_ms / parent_ms, "parentMs": parent_ms, "childMs": child_ms})
    )


if __name__ == "__main__":
    main()
