#!/usr/bin/python3
"""The demo's web client (run on the lab's client host).

  webclient.py get ADDRESS             fetch the page once, print it
  webclient.py poll ADDRESS LOG        a new request every 15 ms until killed
  webclient.py report LOG SINCE NODE   the outage in LOG after NODE died at SINCE (epoch s)

Each poll is its own thread with its own TCP connection and a 300 ms deadline, so a
request lost with a dead node does not hold up the next one. LOG gets one line per
request: start and end (epoch seconds), ok or fail, and the node that answered (or why
it failed). The outage is measured from the start of the first request that failed to
the answer of the first request served by another node.
"""

import re
import socket
import sys
import threading
import time

INTERVAL = 0.015
DEADLINE = 0.3
SERVED_BY = re.compile(rb"Hello from (\S+?)<")


def fetch(addr, timeout):
    """(node, None) or (None, reason)."""
    try:
        with socket.create_connection((addr, 80), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.0\r\nHost: " + addr.encode() + b"\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except socket.timeout:
        return None, "timeout"
    except OSError as e:
        return None, e.strerror or type(e).__name__
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data.split(b"\r\n", 1)[0]:
        return None, "bad reply"
    m = SERVED_BY.search(data)
    return (m.group(1).decode() if m else "?"), None


def get(addr):
    node, err = fetch(addr, 5.0)
    if err:
        print(f"no answer from {addr}: {err}")
        return 1
    print(f"HTTP 200 from {addr}: Hello from {node}")
    return 0


def poll(addr, path):
    out = open(path, "a", buffering=1)
    lock = threading.Lock()

    def one():
        t0 = time.time()
        node, err = fetch(addr, DEADLINE)
        t1 = time.time()
        line = f"{t0:.6f} {t1:.6f} " + (f"ok {node}" if node else f"fail {err}")
        with lock:
            out.write(line + "\n")

    nxt = time.monotonic()
    while True:
        threading.Thread(target=one, daemon=True).start()
        nxt += INTERVAL
        time.sleep(max(0.0, nxt - time.monotonic()))


def report(path, since, dead):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                continue  # the poller was stopped while writing it
            p = line.split()
            if len(p) >= 4:
                rows.append((float(p[0]), float(p[1]), p[2] == "ok", p[3]))
    rows.sort()
    # Requests that ended before the kill, and those the kill could affect.
    before = [r for r in rows if r[1] < since]
    after = [r for r in rows if r[1] >= since]
    failed = [r for r in after if not r[2]]
    new_ok = [r for r in after if r[2] and r[3] != dead]
    print(f"requests: {len(rows)}, one every {INTERVAL * 1000:.0f} ms; before the kill "
          f"{sum(1 for r in before if r[2])} answered, {sum(1 for r in before if not r[2])} failed; "
          f"after it {len(failed)} failed")
    if not new_ok:
        print(f"no answer from a node other than {dead}")
        return 1
    first_new = min(new_ok, key=lambda r: r[1])
    if not failed:
        print("no request failed: none was in flight when the service moved")
        return 0
    start = failed[0][0]
    print(f"first failed request sent   {(start - since) * 1000:+6.0f} ms after the kill")
    print(f"first answer from {first_new[3]:<9} {(first_new[1] - since) * 1000:+6.0f} ms after the kill")
    late = sum(1 for r in failed if r[0] > first_new[1])
    if late:
        print(f"({late} requests sent after that still failed)")
    print(f"OUTAGE: clients could not reach the service for {(first_new[1] - start) * 1000:.0f} ms")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "get":
        return get(argv[2])
    if len(argv) == 4 and argv[1] == "poll":
        return poll(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "report":
        return report(argv[2], float(argv[3]), argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
