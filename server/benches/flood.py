# A slowloris flood against a local passcode-server, bounded in count and
# time: opens N connections that each send part of a request head, then
# prints the server's RSS (from /proc) before, at peak and after, and
# whether /health still answers.
#
#   target/release/passcode-server serve --listen 127.0.0.1:18600 \
#       --database sqlite:/tmp/flood/p.db --master-key-file /tmp/flood/m.key &
#   ulimit -n 20000; python3 server/benches/flood.py $! 18600 5000
#   kill $!
import socket, sys, time
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
def health():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = s.recv(100); s.close()
    return data[:12].decode()
print("before MB", rss(), health())
socks = []
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
    socks.append(s)
print("opened", n, "in %.1fs" % (time.time() - t0))
time.sleep(1)
print("peak MB", rss(), health())
closed = 0
deadline = time.time() + 30
while time.time() < deadline and closed < n:
    time.sleep(1)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
print("closed by the server", closed, "of", n, "after %.0fs" % (time.time() - t0))
for s in socks:
    s.close()
time.sleep(2)
print("after MB", rss(), health())
