"""Where and how students reach ``python -m chatkit serve``: its addresses, and https.

Introduced in notebook 06 (the classroom). A server listening on ``0.0.0.0`` listens on
every network of the teacher's laptop, but ``0.0.0.0`` names no computer: students need
the laptop's own address on the classroom network, which :func:`student_urls` works out::

    student_urls("0.0.0.0", 5000)              # ['http://192.168.1.20:5000']
    student_urls("127.0.0.1", 5000, scheme="https")   # ['https://127.0.0.1:5000']

With ``--certfile``/``--keyfile`` the server speaks TLS (https and wss, as notebook 01's
``wss://`` section does with a ``trustme`` certificate): :func:`tls_context` loads the
certificate and its key, and says in a sentence what is wrong with them when it cannot.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
from pathlib import Path

__all__ = ["UnusableCertificate", "student_url", "student_urls", "tls_context"]


def student_url(host: str, port: int, *, scheme: str = "http") -> str:
    """The address to give students: a wildcard host is replaced by this machine's address."""
    return student_urls(host, port, scheme=scheme)[0]


def student_urls(host: str, port: int, *, scheme: str = "http") -> list[str]:
    """Every address students may use, best first. For a wildcard host (``0.0.0.0``,
    ``::``) that is each of this machine's network addresses, loopback left out."""
    hosts = _this_machine_addresses() if host in ("0.0.0.0", "::", "") else [host]
    return [f"{scheme}://{f'[{name}]' if ':' in name else name}:{port}" for name in hosts]


def _this_machine_addresses() -> list[str]:
    """This computer's IPv4 addresses on its networks, as other computers see them
    (a best guess, loopback left out), the one used to reach other networks first."""
    found: list[str] = []
    # Connecting a UDP socket sends nothing; it only asks the OS which address it would
    # use to reach another network.
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: documentation-only, never routed
        found.append(probe.getsockname()[0])
    with contextlib.suppress(OSError):
        for *_, address in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(address[0])
    usable = [name for name in dict.fromkeys(found)
              if not ipaddress.ip_address(name).is_loopback
              and not ipaddress.ip_address(name).is_unspecified]
    return usable or [socket.gethostname()]


class UnusableCertificate(ValueError):
    """The certificate or key given to :func:`tls_context` cannot be used; the message
    says why in a sentence."""


class _NeedsPassphrase(Exception):
    pass


def tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server's TLS context holding the certificate in ``certfile`` and its private key
    in ``keyfile`` (both PEM, as ``trustme``, ``mkcert`` and ``openssl`` write them).

    Raises :class:`UnusableCertificate` with a sentence if a file cannot be read, is not
    what it should be, is protected by a passphrase, or if the two do not match.
    """
    pems = {}
    for what, path in (("certificate", certfile), ("private key", keyfile)):
        try:
            pems[what] = Path(path).read_bytes()
        except OSError as exc:
            raise UnusableCertificate(
                f"cannot read the {what} file {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in pems["certificate"]:
        raise UnusableCertificate(
            f"{certfile} holds no certificate: --certfile takes a PEM file, the text "
            f"that starts with -----BEGIN CERTIFICATE-----")
    if b"PRIVATE KEY-----" not in pems["private key"]:
        raise UnusableCertificate(
            f"{keyfile} holds no private key: --keyfile takes a PEM file, the text "
            f"that starts with -----BEGIN PRIVATE KEY-----")

    def no_passphrase() -> bytes:
        # Without a callable, OpenSSL would ask for the passphrase on the terminal and wait.
        raise _NeedsPassphrase

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile, password=no_passphrase)
    except _NeedsPassphrase:
        raise UnusableCertificate(
            f"the private key in {keyfile} is protected by a passphrase; the server needs "
            f"one without (mkcert's keys have none; with openssl, add -noenc, or -nodes "
            f"before OpenSSL 3)") from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise UnusableCertificate(f"the private key in {keyfile} does not belong to the "
                                      f"certificate in {certfile}") from None
        raise UnusableCertificate(f"{certfile} and {keyfile} cannot be used as a "
                                  f"certificate and its key: {exc.reason or exc}") from None
    except OSError as exc:  # the files changed since they were read
        raise UnusableCertificate(f"cannot read {certfile} or {keyfile}: "
                                  f"{exc.strerror or exc}") from None
    return context
