"""Figure 5: Python multiprocessing Pipe and Queue (fork) between a parent and a child.

argv[1]: JSON {contender: 'pipe'|'queue', mode: 'small'|'pingpong'|'payload', count, size}
small: messages per second; pingpong: us per round trip; payload: MB per second.
Payloads go through send_bytes/recv_bytes on a Pipe, put/get on a Queue.
"""
import json
import multiprocessing as mp
import sys
import time


def child(contender, mode, count, recv_end, send_end):
    recv = recv_end.recv if contender == "pipe" else recv_end.get
    send = send_end.send if contender == "pipe" else send_end.put
    if contender == "pipe" and mode == "payload":
        recv = recv_end.recv_bytes
    for _ in range(count):
        x = recv()
        if mode == "pingpong":
            send(x)
    if mode != "pingpong":
        send("ack")


def main():
    p = json.loads(sys.argv[1])
    contender, mode = p["contender"], p["mode"]
    count, size = p.get("count", 10000), p.get("size", 65536)
    ctx = mp.get_context("fork")
    if contender == "pipe":
        parent_end, child_end = ctx.Pipe()
        args = (child_end, child_end)
        send, recv = parent_end.send, parent_end.recv
        if mode == "payload":
            send = parent_end.send_bytes
    else:
        down, up = ctx.Queue(), ctx.Queue()
        args = (down, up)
        send, recv = down.put, up.get
    proc = ctx.Process(target=child, args=(contender, mode, count) + args)
    proc.start()
    payload = b"\x07" * size
    t0 = time.perf_counter()
    if mode == "pingpong":
        for i in range(count):
            send(["msg", i])
            recv()
    else:
        for i in range(count):
            send(["msg", i] if mode == "small" else payload)
        assert recv() == "ack"
    dt = time.perf_counter() - t0
    proc.join()
    assert proc.exitcode == 0
    value = count / dt if mode == "small" else dt / count * 1e6 if mode == "pingpong" else size * count / dt / 1e6
    print("RESULT " + json.dumps({"value": value}))


if __name__ == "__main__":
    main()
