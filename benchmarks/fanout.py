"""Messages per second one chat server process sustains for a room of 100 students.

The server is the teacher's command (`python -m chatkit serve`) in a process of its own;
the students are the official socket.io client in Node.js (`fanout.mjs`), in another
process, so the two share the machine's cores as a real classroom server would not
share its. Each step offers a total message rate, spread over all students round
robin; every student receives every message. A step is *sustained* when every
acknowledged message reached every student and 95% of deliveries took under 250 ms.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
STUDENTS = 100
RATES = (50, 100, 150, 200, 300)
SECONDS = 4
# Throughput is the question, so the per-student flood limit (--rate) is lifted.
SERVER_OPTIONS = ["--open", "--host", "127.0.0.1", "--port", "0", "--rate", "0"]


def ensure_node_client() -> None:
    if (HERE / "node_modules" / "socket.io-client").exists():
        return
    if shutil.which("npm") is None:
        raise SystemExit("the fan-out benchmark needs Node.js and npm (for socket.io-client)")
    subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def start_server(options: list[str]) -> tuple[subprocess.Popen, str]:
    """Start `chatkit serve`; its URL comes from the machine-readable --ready-file."""
    ready = Path(tempfile.mkdtemp(prefix="fanout-")) / "ready.json"
    server = subprocess.Popen([sys.executable, "-m", "chatkit", "serve", *options,
                               "--ready-file", str(ready)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and server.poll() is None:
        if ready.exists():
            return server, json.loads(ready.read_text())["url"]
        time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"the chat server did not get ready:\n{server.stderr.read()}")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(rates=RATES, students: int = STUDENTS, seconds: float = SECONDS) -> dict:
    ensure_node_client()
    steps = []
    for rate in rates:  # a fresh server per step, so one overload does not spill over
        server, url = start_server(SERVER_OPTIONS)
        try:
            before = cpu_seconds(server.pid)
            out = subprocess.run(["node", str(HERE / "fanout.mjs"), url, str(students),
                                  str(rate), str(seconds)],
                                 capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                raise RuntimeError(f"the load generator failed:\n{out.stderr}")
            step = json.loads(out.stdout.strip().splitlines()[-1])
            step["server_cpu"] = (cpu_seconds(server.pid) - before) / step["seconds"]
            steps.append(step)
        finally:
            stop_server(server)
    return {"steps": steps}


def sustained(step: dict) -> bool:
    return (step["refused"] == 0 and step["acked"] == step["offered"]
            and step["delivered"] == step["expected"] and step["p95"] is not None
            and step["p95"] < 250)


def report(figures: dict) -> str:
    lines = [f"Fan-out: one server process, {STUDENTS} students in one room "
             f"(socket.io-client in Node.js, WebSocket transport)",
             f"{'offered/s':>9} {'acked/s':>8} {'deliveries/s':>12} {'p50 ms':>7} "
             f"{'p95 ms':>7} {'p99 ms':>7} {'server CPU':>10}  sustained"]
    best = None
    for step in figures["steps"]:
        acked_rate = step["acked"] / step["seconds"]
        if sustained(step):
            best = acked_rate
        delivered_rate = step["delivered"] / step["seconds"]
        lines.append(f"{step['rate']:>9} {acked_rate:>8.0f} {delivered_rate:>12.0f} "
                     f"{step['p50'] or 0:>7.1f} {step['p95'] or 0:>7.1f} {step['p99'] or 0:>7.1f} "
                     f"{step['server_cpu']:>9.0%}  {'yes' if sustained(step) else 'no'}")
    lines.append(f"sustained: about {best:.0f} messages/s to a room of {STUDENTS}"
                 if best else "sustained: none of the offered rates")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
