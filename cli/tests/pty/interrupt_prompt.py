"""Runs `passcode` on a new pseudo-terminal, as its controlling terminal,
types a few characters at its hidden prompt (`secret: `, `key URI: `), then interrupts it:
Ctrl-C typed (`ctrl-c`) or SIGTERM sent (`sigterm`). Prints whether the
terminal echoes at the prompt and after the process ended, and the signal
that ended it.

Usage: interrupt_prompt.py ctrl-c|sigterm PASSCODE ARGS...
"""
import fcntl
import os
import pty
import select
import signal
import sys
import termios
import time

how, binary, *args = sys.argv[1:]
master, slave = pty.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.close(slave)
    os.execv(binary, [binary, *args])


def echo():
    return bool(termios.tcgetattr(slave)[3] & termios.ECHO)


def wait_for(condition, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.01)


seen = b""


def prompted():
    global seen
    readable, _, _ = select.select([master], [], [], 0.05)
    if readable:
        seen += os.read(master, 1024)
    return seen.endswith(b": ")


print("echo at start", echo())
wait_for(prompted, "the prompt")
wait_for(lambda: not echo(), "echo to go off")
print("echo at the prompt", echo())
os.write(master, b"GEZD")
time.sleep(0.2)
if how == "ctrl-c":
    os.write(master, b"\x03")
else:
    os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print("echo after", echo())
print("signal", os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)
print("exit", os.WEXITSTATUS(status) if os.WIFEXITED(status) else None)
