"""A loopback port for a server a test starts itself (nginx, Apache), which must be told its
port before it binds.

A port from bind(0) is free now but comes from the kernel's ephemeral range, where every
outgoing connection (the stand-in's clients, the senders, wrk) also takes its local port: one
of them can take it before the server binds, and the server then fails to start. So the port
is picked below that range, at random, and checked free."""
import random
import socket


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    high = _ephemeral_low() - 1
    low = min(10000, max(1024, high - 1000))
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # everything below the range taken: the old way
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
