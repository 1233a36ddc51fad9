"""``python -m chatkit serve``: the chat server for a workshop, run from a terminal.

Introduced in notebook 06 (the classroom); the server itself is the one of notebooks
03-05 (:class:`chatkit.server.ChatServer`). A teacher runs::

    python -m chatkit serve --host 0.0.0.0 --db workshop.db

shows the class the link (and QR code) it prints, which opens the chat page with the join
code filled in, keeps the teacher token it prints to themselves (for the teacher's page
at ``/teacher``), and stops it with Ctrl-C. With ``--certfile`` and ``--keyfile`` it serves
https and wss. Unlike the notebooks, this is a program of its own, so it owns its event
loop and its signals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from typing import TextIO

from chatkit import protocol
from chatkit.addresses import UnusableCertificate, student_urls, tls_context
from chatkit.cluster import class_secrets, safe_url
from chatkit.guard import Guard
from chatkit.language import LANGUAGES, phrase, translate
from chatkit.limits import Limits, describe
from chatkit.pages import join_link, qr_text
from chatkit.running import ServerStartError
from chatkit.server import ChatServer

__all__ = ["CLASSROOM_CONNECTS_PER_SECOND", "CLASSROOM_LIMITS", "build_parser", "main",
           "serve"]

#: The limits ``serve`` uses unless told otherwise: a classroom's, with a rate limit
#: (a notebook's ChatServer has none).
CLASSROOM_LIMITS = Limits(messages_per_second=5, burst=10, room_changes_per_second=2,
                          room_change_burst=10)

#: Connects per second one address may make with ``serve`` (bursts of a whole class).
CLASSROOM_CONNECTS_PER_SECOND = 5.0

DESCRIPTION = """\
Run the course's chat server for a workshop.

Students open the link printed at start (or scan its QR code) in any browser: the chat
page, with the join code in the link. Programs connect with any socket.io client to the
address printed, namespace /chat, sending a name and the join code (docs/protocol.md).
You, the teacher, open the page /teacher and type the teacher token printed at start
(or connect to the namespace /teacher with it), to see the rooms, kick someone out,
mute someone or announce something.
Each connection and disconnection is logged as one line; Ctrl-C stops the server.
"""

EXAMPLES = """\
examples:
  python -m chatkit serve                        this computer only, random join code
  python -m chatkit serve --host 0.0.0.0         the whole classroom network
  python -m chatkit serve --join-code blue-fox   a code you choose
  python -m chatkit serve --open --db chat.db    no code; keep messages across restarts
  python -m chatkit serve --redis redis://127.0.0.1:6379/0 --port 5001
                                                 one of several servers sharing a Redis
  python -m chatkit serve --certfile cert.pem --keyfile key.pem
                                                 https and wss, with your certificate
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``serve`` and its options."""
    parser = argparse.ArgumentParser(
        prog="python -m chatkit", description="Tools of the chatkit course.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_command = commands.add_parser(
        "serve", help="run the chat server for a workshop", description=DESCRIPTION,
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)

    where = serve_command.add_argument_group("where students connect")
    where.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only; "
             "use 0.0.0.0 so that students on the same network can connect)")
    where.add_argument(
        "--port", type=_port, default=5000,
        help="port to listen on (default: 5000; 0 picks a free one)")
    where.add_argument(
        "--cors-origin", metavar="ORIGIN", action="append", dest="cors_origins",
        help="a web page address allowed to connect from a browser, such as "
             "https://example.org, besides the server's own pages; repeat for several, "
             "or '*' for any page (default: only pages served by this server; programs "
             "that are not browsers are never affected)")
    where.add_argument(
        "--certfile", metavar="FILE",
        help="serve https and wss (the pages and socket.io alike) with this certificate, "
             "a PEM file such as mkcert or openssl make; needs --keyfile")
    where.add_argument(
        "--keyfile", metavar="FILE",
        help="the certificate's private key (a PEM file, without a passphrase)")
    where.add_argument(
        "--no-qr", dest="qr", action="store_false",
        help="do not draw the students' link as a QR code at start (for a small "
             "terminal or a log file; the teacher's page shows it too)")

    where.add_argument(
        "--lang", choices=LANGUAGES,
        help="the language of the server's refusals and notices and of its pages "
             "(default: English, and the pages in the browser's language); a student's "
             "client may ask for another (\"lang\" in auth)")

    access = serve_command.add_argument_group("who may connect")
    codes = access.add_mutually_exclusive_group()
    codes.add_argument(
        "--join-code", metavar="CODE", type=_text("join code"),
        help="the code students must give to connect (default: a random code that "
             "reads well aloud, printed at start)")
    codes.add_argument(
        "--open", action="store_true",
        help="let anyone who can reach the server connect, without a code")
    access.add_argument(
        "--teacher-token", metavar="TOKEN", type=_text("teacher token"),
        help="the secret that opens the teacher's tools (namespace /teacher); keep it "
             "to yourself (default: a random one, printed once at start)")

    storage = serve_command.add_argument_group("where messages are kept")
    places = storage.add_mutually_exclusive_group()
    places.add_argument(
        "--db", metavar="FILE",
        help="keep messages in this SQLite file, so that history, message ids and "
             "reconnecting students survive a restart (default: in memory only)")
    places.add_argument(
        "--redis", metavar="URL", type=_text("Redis URL"),
        help="share the chat with every server started with the same URL, such as "
             "redis://127.0.0.1:6379/0: messages, rooms, names, kicks and mutes are kept "
             "in that Redis server, and students of one server hear those of the others. "
             "A random join code and teacher token are shared too")

    limits = serve_command.add_argument_group("limits")
    default = CLASSROOM_LIMITS
    limits.add_argument(
        "--rate", metavar="N", type=_non_negative_number, default=default.messages_per_second,
        help=f"messages per second one student may send, on average (default: "
             f"{default.messages_per_second:g}); faster ones are refused and the student "
             f"is told to slow down. 0 lifts every per-student limit (this one, "
             f"--join-rate and --connect-rate), for benchmarks")
    limits.add_argument(
        "--burst", metavar="N", type=_positive_int, default=default.burst,
        help=f"messages a student may send in a row before --rate applies "
             f"(default: {default.burst})")
    limits.add_argument(
        "--join-rate", metavar="N", type=_non_negative_number,
        default=default.room_changes_per_second,
        help=f"joins and leaves per second one student may make, on average, in bursts "
             f"of {default.room_change_burst} (default: "
             f"{default.room_changes_per_second:g}; 0 for no limit)")
    limits.add_argument(
        "--connect-rate", metavar="N", type=_non_negative_number,
        default=CLASSROOM_CONNECTS_PER_SECOND,
        help=f"connections per second from one address, on average, in bursts of "
             f"{Guard.connect_burst} (default: {CLASSROOM_CONNECTS_PER_SECOND:g}; "
             f"0 for no limit)")
    limits.add_argument(
        "--wrong-tries", metavar="N", type=_non_negative_int, default=Guard.free_tries,
        help=f"wrong join codes or teacher tokens one address may send before it must "
             f"wait between tries; raise it when a whole class shares one address, as on "
             f"JupyterHub (default: {Guard.free_tries})")
    limits.add_argument(
        "--max-replay", metavar="N", type=_positive_int, default=default.replay,
        help=f"most messages per room a reconnecting student gets replayed; the rest is "
             f"announced as cut (default: {default.replay})")
    limits.add_argument(
        "--max-text", metavar="N", type=_positive_int, default=default.text_length,
        help=f"longest message, in characters (default: {default.text_length:,})")
    limits.add_argument(
        "--max-students", metavar="N", type=_positive_int, default=default.clients,
        help=f"how many students may be connected to this server at once "
             f"(default: {default.clients})")
    limits.add_argument(
        "--max-rooms", metavar="N", type=_positive_int, default=default.rooms_per_client,
        help=f"how many rooms one student may be in at once "
             f"(default: {default.rooms_per_client})")
    limits.add_argument(
        "--kick-seconds", metavar="N", type=_non_negative_number,
        default=default.kick_seconds,
        help=f"how long a student you kick out may not come back "
             f"(default: {default.kick_seconds:g})")

    programs = serve_command.add_argument_group("for programs that start the server")
    programs.add_argument(
        "--ready-file", metavar="FILE",
        help="once serving, write one JSON object to this file, for a program to read "
             "instead of the text above: {\"url\", \"port\", \"join_code\" (null with "
             "--open), \"teacher_token\", \"pid\", \"start_lines\" (how many lines were "
             "printed before it), \"event_loop\" (\"uvloop\" or \"asyncio\")}. It is "
             "written whole (a new file renamed into place), readable by you only, since "
             "it holds the token, and removed at a clean stop")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 when stopped by Ctrl-C or SIGTERM)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "serve":
        parser.print_help()
        return 2
    if (args.certfile is None) != (args.keyfile is None):
        parser.error("--certfile and --keyfile go together: give the certificate and its "
                     "private key, or neither for plain http")
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        level=logging.WARNING)
    logging.getLogger("chatkit.server").setLevel(logging.INFO)
    lifted = args.rate == 0  # --rate 0: no per-student limit at all (benchmarks)
    limits = Limits(messages_per_second=args.rate or None, burst=args.burst,
                    text_length=args.max_text, clients=args.max_students,
                    rooms_per_client=args.max_rooms, kick_seconds=args.kick_seconds,
                    room_changes_per_second=None if lifted else args.join_rate or None,
                    replay=args.max_replay)
    guard = Guard(connects_per_second=None if lifted else args.connect_rate or None,
                  free_tries=args.wrong_tries)
    try:
        return event_loop_runner()(serve(
            host=args.host, port=args.port, join_code=args.join_code, open_chat=args.open,
            teacher_token=args.teacher_token, db=args.db, redis=args.redis, limits=limits,
            guard=guard, cors_origins=args.cors_origins, ready_file=args.ready_file,
            certfile=args.certfile, keyfile=args.keyfile, qr=args.qr, language=args.lang))
    except KeyboardInterrupt:  # only where asyncio cannot install signal handlers (Windows)
        return 0


def event_loop_runner():
    """``uvloop.run`` where uvloop is installed (Linux, macOS), else ``asyncio.run``:
    asyncio's loop in C on libuv, a sixth less CPU in a busy room. Never in a kernel."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


async def serve(*, host: str, port: int, join_code: str | None = None,
                open_chat: bool = False, teacher_token: str | None = None,
                db: str | None = None, redis: str | None = None,
                limits: Limits | None = None, guard: Guard | None = None,
                cors_origins: Sequence[str] | None = None, ready_file: str | None = None,
                certfile: str | None = None, keyfile: str | None = None,
                qr: bool = True, language: str | None = None) -> int:
    """Serve until SIGINT or SIGTERM, then stop cleanly. Prints what the teacher needs
    (with a QR code of the students' link unless ``qr`` is False), then, with
    ``ready_file``, writes it there as JSON for a program (``--ready-file``).

    Without ``join_code`` (and unless ``open_chat``) or ``teacher_token``, random ones
    are made up. With ``certfile`` and ``keyfile`` it serves https and wss.
    Note: this function is a coroutine.
    """
    try:
        tls = None if certfile is None else tls_context(certfile, keyfile or certfile)
        join_code, teacher_token = await class_secrets(redis, join_code, teacher_token,
                                                  open_chat=open_chat)
    except (UnusableCertificate, ConnectionError) as exc:
        print(f"cannot start the chat server: {exc}", file=sys.stderr)
        return 1
    server = ChatServer(join_code=join_code, teacher_token=teacher_token, db=db,
                        redis=redis, limits=limits or CLASSROOM_LIMITS,
                        guard=guard or Guard(connects_per_second=CLASSROOM_CONNECTS_PER_SECOND),
                        cors_allowed_origins=_cors(cors_origins), language=language)
    try:
        handle = await server.start(host=host, port=port, name="chat", ssl=tls)
    except ServerStartError as exc:
        print(f"cannot start the chat server: {exc.strerror}", file=sys.stderr)
        await server.stop()
        return 1
    except ConnectionError as exc:  # Redis cannot be reached
        print(f"cannot start the chat server: {exc}", file=sys.stderr)
        await server.stop()
        return 1
    # Signal handlers first: whoever reads "Press Ctrl-C" may send a signal at once.
    stopping = asyncio.Event()
    why = ["it could not go on"]  # what stopped it, for the last lines it prints

    def stop_on(signum: int) -> None:
        why[0] = _STOPPED_BY.get(signum, signal.Signals(signum).name)
        stopping.set()

    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(signum, stop_on, signum)
    ready = False
    server.public_urls = student_urls(host, handle.port, scheme="https" if tls else "http")
    try:
        printed, qr = _LineCount(sys.stdout), qr and _can_draw(sys.stdout)
        with contextlib.redirect_stdout(printed):
            _print_start(server, db=db, redis=redis, qr=qr)
        if ready_file is not None:
            ready = _write_ready(ready_file, server, handle.port, start_lines=printed.lines)
            if not ready:
                why[0] = "the ready file could not be written"
                return 1
        await stopping.wait()
    finally:
        for signum in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
        print(f"Stopping ({why[0]})...", flush=True)
        await server.stop()
        if ready:  # no longer ready: a program must not find it
            with contextlib.suppress(OSError):
                os.unlink(ready_file)
    print(f"Stopped. Why: {why[0]}.", flush=True)
    kept = f"--db {db} keeps every message" if db else "without --db the messages are gone"
    print(f"Start it again with the same options ({kept}): students' chats reconnect by "
          f"themselves.", flush=True)
    return 0


#: What each signal that stops ``serve`` means to the teacher.
_STOPPED_BY = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM, a request to stop"}


def _print_start(server: ChatServer, *, db: str | None, redis: str | None,
                 qr: bool) -> None:
    """What the teacher needs: the address, the join code, the token (once), the limits,
    the students' link (and its QR code), the teacher's page."""
    urls = server.public_urls
    print_line = functools.partial(_print_line, server.language)  # in its language (--lang)
    print_line(f"Chat server running. Students connect to: {urls[0]} "
        f"(socket.io namespace {protocol.CHAT})")
    for url in urls[1:]:
        print_line(f"  or, from another network of this computer: {url}")
    code = server.join_code
    print_line(f"Join code: {code}" if code else "Join code: none (--open: anyone may join)")
    print_line(f"Teacher token: {server.moderation.token} (socket.io namespace "
        f"{protocol.TEACHER}; keep it to yourself)")
    # the limits first, on their own: "Limits: 5 messages per second ..." reads as either
    print_line(f"Limits: {translate(describe(server.rules.limits), server.language)}")
    if db:
        print_line(f"Messages are kept in {db}")
    if redis:
        print_line(f"Sharing the chat through Redis at {safe_url(redis)} with every "
            f"server started with the same --redis")
    # After the lines above, which stay first (notebook 06 shows them): the QR code then
    # stays on screen, right above the log, where the class can scan it.
    link = join_link(urls[0], code)
    how = phrase("the join code is in the link") if code else phrase("no code needed")
    scan = phrase(", or scan this QR code") if qr else ""
    print_line(f"Students' page: {link} (any browser; {how}{scan})")
    if qr:
        print(qr_text(link), end="")
    print_line(f"Teacher's page: {urls[0]}/teacher (type the teacher token there; it is never "
        f"in a link)")
    print_line("Press Ctrl-C to stop.")


def _print_line(language: str, line: str) -> None:
    print(translate(line, language), flush=True)


def _can_draw(out: TextIO) -> bool:
    """Whether ``out`` can print a QR code's block characters (a terminal set to ASCII or
    Latin-1 cannot, and would raise instead)."""
    try:
        "\u2580\u2584\u2588".encode(out.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


class _LineCount(io.TextIOBase):
    """Passes text on to ``out``, counting its lines: a program reading the output knows
    from ``start_lines`` when it has all of the start-up text, whatever its wording."""

    def __init__(self, out: TextIO):
        self.out = out
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def _write_ready(path: str, server: ChatServer, port: int, *, start_lines: int) -> bool:
    """``--ready-file``: what the start-up text says, as one JSON object, written whole.

    The token is a secret: the object goes to a new file only its owner may read (in
    the same folder, so the rename is atomic), then takes the name ``path``. A program
    never sees a half-written file. Returns False, having said why, if it cannot.
    """
    ready = {"url": server.public_urls[0], "port": port, "join_code": server.join_code,
             "teacher_token": server.moderation.token, "pid": os.getpid(),
             "start_lines": start_lines,
             "event_loop": type(asyncio.get_running_loop()).__module__.split(".")[0]}
    folder = os.path.dirname(os.path.abspath(path))
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".ready-")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(ready, file)
                file.write("\n")
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        print(f"cannot write the ready file {path}: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def _cors(origins: Sequence[str] | None) -> str | list[str] | None:
    if not origins:
        return None  # python-socketio: only pages served by this server
    return "*" if "*" in origins else list(origins)


def _port(value: str) -> int:
    number = _whole(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {value}")
    return number


def _positive_int(value: str) -> int:
    number = _whole(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return number


def _non_negative_int(value: str) -> int:
    number = _whole(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return number


def _whole(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None


def _non_negative_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {value!r}") from None
    if not 0 <= number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return number


def _text(what: str):
    def check(value: str) -> str:
        if not value.strip():
            raise argparse.ArgumentTypeError(f"the {what} cannot be empty")
        return value.strip()
    return check


if __name__ == "__main__":
    sys.exit(main())
