"""``python -m chatkit serve``: the chat server for a workshop, run from a terminal.

Introduced in notebook 06 (the classroom); the server itself is the one of notebooks
02-05 (:class:`chatkit.server.ChatServer`). A teacher runs::

    python -m chatkit serve --host 0.0.0.0 --db workshop.db

reads out the address and the join code it prints, and stops it with Ctrl-C. Unlike the
notebooks, this is a program of its own, so it owns its event loop and its signals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Sequence

from chatkit.chat import new_join_code
from chatkit.running import ServerStartError
from chatkit.server import CHAT_NAMESPACE, ChatServer

__all__ = ["main"]

DESCRIPTION = """\
Run the course's chat server for a workshop.

Students connect with any socket.io client to the address printed at start, namespace
/chat, sending their name and the join code (the protocol is in docs/protocol.md).
Each connection and disconnection is logged as one line; Ctrl-C stops the server.
"""

EXAMPLES = """\
examples:
  python -m chatkit serve                        this computer only, random join code
  python -m chatkit serve --host 0.0.0.0         the whole classroom network
  python -m chatkit serve --join-code blue-fox   a code you choose
  python -m chatkit serve --open --db chat.db    no code; keep messages across restarts
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``serve`` and its options."""
    parser = argparse.ArgumentParser(
        prog="python -m chatkit", description="Tools of the chatkit course.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run the chat server for a workshop", description=DESCRIPTION,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only; "
             "use 0.0.0.0 so that students on the same network can connect)")
    serve.add_argument(
        "--port", type=int, default=5000,
        help="port to listen on (default: 5000; 0 picks a free one)")
    access = serve.add_mutually_exclusive_group()
    access.add_argument(
        "--join-code", metavar="CODE",
        help="the code students must give to connect (default: a random code that "
             "reads well aloud, printed at start)")
    access.add_argument(
        "--open", action="store_true",
        help="let anyone who can reach the server connect, without a code")
    serve.add_argument(
        "--db", metavar="FILE",
        help="keep messages in this SQLite file, so that history, message ids and "
             "reconnecting students survive a restart (default: in memory only)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 when stopped by Ctrl-C or SIGTERM)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help()
        return 2
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        level=logging.WARNING)
    logging.getLogger("chatkit.server").setLevel(logging.INFO)
    try:
        return asyncio.run(serve(host=args.host, port=args.port,
                                 join_code=None if args.open else args.join_code or new_join_code(),
                                 db=args.db))
    except KeyboardInterrupt:  # only where asyncio cannot install signal handlers (Windows)
        return 0


async def serve(*, host: str, port: int, join_code: str | None, db: str | None) -> int:
    """Serve until SIGINT or SIGTERM, then stop cleanly. Prints what students need.

    Note: this function is a coroutine.
    """
    server = ChatServer(join_code=join_code, db=db)
    try:
        handle = await server.start(host=host, port=port, name="chat")
    except ServerStartError as exc:
        print(f"cannot start the chat server: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"Chat server running. Students connect to: "
          f"{student_url(host, handle.port)} (socket.io namespace {CHAT_NAMESPACE})")
    print(f"Join code: {join_code}" if join_code else "Join code: none (--open: anyone may join)")
    if db:
        print(f"Messages are kept in {db}")
    print("Press Ctrl-C to stop.", flush=True)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        for signum in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
        print("Stopping...", flush=True)
        await server.stop()
    print("Stopped.", flush=True)
    return 0


def student_url(host: str, port: int) -> str:
    """The address to give students: a wildcard host is replaced by this machine's address."""
    if host in ("0.0.0.0", "::", ""):
        host = _this_machine_address()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _this_machine_address() -> str:
    """This computer's address on its network, as other computers see it (best guess).

    Connecting a UDP socket sends nothing; it only asks the OS which interface it would
    use to reach another network.
    """
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: documentation-only, never routed
        return probe.getsockname()[0]
    return socket.gethostname()


if __name__ == "__main__":
    sys.exit(main())
