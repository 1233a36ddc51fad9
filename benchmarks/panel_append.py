"""What appending the k-th message to a ChatPanel costs, at k = 10, 1,000 and 5,000.

Runs inside a real IPython kernel, so every append goes through the widget's comm to
ipykernel's iopub channel, as it does in JupyterLab. For contrast it times the naive
panel that re-renders the whole history into one HTML widget on every message.
"""

from __future__ import annotations

import json
import textwrap

from jupyter_client.manager import start_new_kernel

CHECKPOINTS = (10, 1_000, 5_000)

KERNEL_CODE = textwrap.dedent("""
    import html, json, statistics, time, tracemalloc
    import ipywidgets as widgets
    from IPython.display import display
    from chatkit.panel import ChatView, make_row

    def per_append(append, total, checkpoints, window=20):
        costs = []
        for k in range(1, total + 1):
            row = make_row("said", f"message number {k} with some ordinary text", name="ada")
            start = time.perf_counter_ns()
            append(row)
            costs.append(time.perf_counter_ns() - start)
        return {k: statistics.median(costs[max(0, k - window):k]) / 1000 for k in checkpoints}

    view = ChatView(max_messages=500)
    display(view)
    tracemalloc.start()
    chatkit = per_append(view.add_row, 5000, CHECKPOINTS)
    kept, peak = len(view.messages), tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    board, rows = widgets.HTML(), []
    display(board)
    def rerender(row):
        rows.append(row)
        board.value = "<br>".join(html.escape(f"{r['name']}: {r['text']}") for r in rows)
    naive = per_append(rerender, 5000, CHECKPOINTS)
    print(json.dumps({"chatkit": chatkit, "naive": naive, "kept": kept, "peak_kib": peak / 1024}))
""")


def run() -> dict:
    """Start a kernel, run the measurement in it, return the figures (microseconds)."""
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        lines = []

        def collect(message):
            if message["msg_type"] == "stream":
                lines.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                raise RuntimeError("\n".join(message["content"]["traceback"]))

        code = f"CHECKPOINTS = {CHECKPOINTS!r}\n{KERNEL_CODE}"
        client.execute_interactive(code, output_hook=collect, timeout=600)
        return json.loads("".join(lines).strip().splitlines()[-1])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def report(figures: dict) -> str:
    lines = ["ChatPanel: cost of appending message k (median of the 20 appends up to k), "
             "in a real kernel", f"{'k':>7} {'chatkit (µs)':>14} {'re-render all (µs)':>20}"]
    for k in CHECKPOINTS:
        lines.append(f"{k:>7,} {figures['chatkit'][str(k)]:>14.1f} "
                     f"{figures['naive'][str(k)]:>20.1f}")
    lines.append(f"rows kept in memory after 5,000 appends: {figures['kept']} (cap 500); "
                 f"peak traced memory {figures['peak_kib']:.0f} KiB")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
