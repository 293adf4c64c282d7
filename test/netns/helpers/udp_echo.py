#!/usr/bin/env python3
"""UDP echo server for tests: echoes at most COUNT datagrams, exits after TIMEOUT seconds."""
import socket
import sys
import time

addr, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((addr, port))
print("ready", flush=True)
deadline = time.monotonic() + timeout
while count > 0 and time.monotonic() < deadline:
    s.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        break
    s.sendto(data, peer)
    count -= 1
