#!/usr/bin/env python3
"""Sends one UDP datagram to VIP:PORT inside an IPIP packet to TUNNEL_DST, from
SRC:SPORT, and waits up to TIMEOUT seconds for the direct reply. Prints the
reply, or 'timeout'. The kernel adds the outer header (raw socket, protocol 4)."""
import socket
import struct
import sys

src, sport, vip, vport, tunnel_dst, payload, timeout = sys.argv[1:8]
sport, vport, timeout = int(sport), int(vport), float(timeout)
data = payload.encode()

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

udp = struct.pack("!HHHH", sport, vport, 8 + len(data), 0) + data
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0x4000, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(vip))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]

listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
listener.bind((src, sport))
listener.settimeout(timeout)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
raw.sendto(ip + udp, (tunnel_dst, 0))
try:
    reply, peer = listener.recvfrom(2048)
    print(f"{peer[0]}:{peer[1]} {reply.decode()}")
except socket.timeout:
    print("timeout")
