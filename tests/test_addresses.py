"""chatkit.addresses: the addresses students use, and the TLS context from a certificate
and its key (with a sentence for every way they can be wrong)."""

import asyncio
import ssl

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from chatkit.addresses import UnusableCertificate, student_url, student_urls, tls_context
from tests.conftest import timeout


def test_student_url_replaces_a_wildcard_host():
    """Listening on 0.0.0.0 prints an address students can actually use."""
    assert student_url("127.0.0.1", 5000) == "http://127.0.0.1:5000"
    assert student_url("::1", 5000) == "http://[::1]:5000"
    assert "0.0.0.0" not in student_url("0.0.0.0", 5000)


def test_student_urls_list_this_machines_addresses_but_not_loopback():
    """For 0.0.0.0 every address is listed once, loopback left out."""
    urls = student_urls("0.0.0.0", 5000)
    assert urls and len(urls) == len(set(urls))
    assert not [url for url in urls if "127.0.0.1" in url or "0.0.0.0" in url]


def test_student_urls_take_the_scheme():
    """With TLS every address students get is https."""
    assert student_urls("127.0.0.1", 5443, scheme="https") == ["https://127.0.0.1:5443"]
    assert all(url.startswith("https://") for url in student_urls("0.0.0.0", 1, scheme="https"))


@pytest.fixture
def files(tmp_path):
    """A trustme CA, and in tmp_path: its certificate for 127.0.0.1 (cert.pem) with its
    key (key.pem), another certificate's key (other-key.pem), that key behind a
    passphrase (locked-key.pem) and a file that is neither (notes.txt)."""
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    authority.issue_cert("127.0.0.1").private_key_pem.write_to_path(
        str(tmp_path / "other-key.pem"))
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
    (tmp_path / "locked-key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")))
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    return authority, tmp_path


async def test_tls_context_serves_a_handshake_a_trusting_client_accepts(files):
    """The context holds the certificate: a client that trusts the CA completes a TLS
    handshake with a server using it, for the name in the certificate."""
    authority, folder = files
    context = tls_context(str(folder / "cert.pem"), str(folder / "key.pem"))

    async def greet(reader, writer):
        writer.write(b"hello over TLS\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=trusting), timeout(5))
        assert await reader.readline() == b"hello over TLS\n"
        assert writer.get_extra_info("ssl_object").version().startswith("TLS")
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("certfile", "keyfile", "sentence"), [
    ("missing.pem", "key.pem", "cannot read the certificate file {folder}/missing.pem: "
                               "No such file or directory"),
    ("cert.pem", "missing.pem", "cannot read the private key file {folder}/missing.pem: "
                                "No such file or directory"),
    (".", "key.pem", "cannot read the certificate file {folder}: Is a directory"),
    ("notes.txt", "key.pem", "{folder}/notes.txt holds no certificate: --certfile takes a "
                             "PEM file, the text that starts with -----BEGIN CERTIFICATE-----"),
    ("key.pem", "cert.pem", "{folder}/key.pem holds no certificate"),
    ("cert.pem", "notes.txt", "{folder}/notes.txt holds no private key: --keyfile takes a "
                              "PEM file, the text that starts with -----BEGIN PRIVATE KEY-----"),
    ("cert.pem", "other-key.pem", "the private key in {folder}/other-key.pem does not belong "
                                  "to the certificate in {folder}/cert.pem"),
    ("cert.pem", "locked-key.pem", "the private key in {folder}/locked-key.pem is protected "
                                   "by a passphrase; the server needs one without"),
])
def test_unusable_files_are_explained_in_a_sentence(files, certfile, keyfile, sentence):
    """Each way the files can be wrong has its own sentence, naming the file; a key behind
    a passphrase is refused at once (OpenSSL would otherwise wait for one typed in)."""
    _, folder = files
    with pytest.raises(UnusableCertificate) as refused:
        tls_context(str(folder / certfile), str(folder / keyfile))
    assert str(refused.value).startswith(sentence.format(folder=folder))
