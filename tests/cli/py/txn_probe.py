#!/usr/bin/python3
"""Speaks just enough of the Kafka protocol to `cdn broker` (one broker, which is the
transaction coordinator) to leave transactions open and watch what the broker does with them.

  txn_probe.py PORT TIMEOUT_MS STEP...

Each STEP is one of
  init:TID                   InitProducerId v1 for TID, its transactions timing out after
                             TIMEOUT_MS; prints "init TID ERROR"
  add:TID:TOPIC:PARTITION    AddPartitionsToTxn v1 with TID's producer id and epoch; prints
                             "add TID TOPIC/PARTITION ERROR" from the answer
  end:TOPIC:PARTITION:N      ListOffsets v1 for the end of TOPIC/PARTITION, asked until it is
                             N (at most 20 s); prints "end TOPIC/PARTITION OFFSET"
  end:TOPIC:PARTITION        the same, asked once
"""
import socket
import struct
import sys
import time


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.corr = 0

    def ask(self, api, version, body):
        self.corr += 1
        client = b"txn-probe"
        head = struct.pack(">hhih", api, version, self.corr, len(client)) + client
        msg = head + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", self.read(4))[0]
        answer = self.read(size)
        assert struct.unpack(">i", answer[:4])[0] == self.corr, "not the answer asked for"
        return answer[4:]

    def read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise SystemExit("txn_probe: the broker closed the connection")
            out += chunk
        return out


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def main():
    port, timeout_ms = int(sys.argv[1]), int(sys.argv[2])
    c = Conn(port)
    producers = {}
    for step in sys.argv[3:]:
        kind, *args = step.split(":")
        if kind == "init":
            (tid,) = args
            a = c.ask(22, 1, kstr(tid) + struct.pack(">i", timeout_ms))
            _throttle, error, pid, epoch = struct.unpack(">ihqh", a[:16])
            producers[tid] = (pid, epoch)
            print("init", tid, error, flush=True)
        elif kind == "add":
            tid, topic, partition = args[0], args[1], int(args[2])
            pid, epoch = producers[tid]
            body = kstr(tid) + struct.pack(">qh", pid, epoch) + struct.pack(">i", 1)
            body += kstr(topic) + struct.pack(">ii", 1, partition)
            a = c.ask(24, 1, body)
            # throttle, 1 topic, its name, 1 partition: index and error
            at = 4 + 4 + 2 + len(topic.encode()) + 4 + 4
            (error,) = struct.unpack(">h", a[at:at + 2])
            print("add", tid, f"{topic}/{partition}", error, flush=True)
        elif kind == "end":
            topic, partition = args[0], int(args[1])
            want = int(args[2]) if len(args) > 2 else None
            deadline = time.monotonic() + 20
            while True:
                body = struct.pack(">ii", -1, 1) + kstr(topic) + struct.pack(">iiq", 1, partition, -1)
                a = c.ask(2, 1, body)
                at = 4 + 2 + len(topic.encode()) + 4 + 4
                error, _ts, offset = struct.unpack(">hqq", a[at:at + 18])
                if want is None or offset == want or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            print("end", f"{topic}/{partition}", offset if error == 0 else f"error {error}",
                  flush=True)
        else:
            raise SystemExit(f"txn_probe: unknown step '{step}'")


main()
