"""The sessions of ``connectors.http`` send a request with a one-piece body (JSON) in one
write, headers and body together; every other request goes out as before."""

import io
import json
import shutil
import socket
import ssl
import subprocess
import threading

import pytest
import urllib3.connection
from urllib3.util.request import ChunksAndContentLength

from connectors import http
from connectors.http import PlatformClient, worker_session

ANSWER = b'{"ok": true}'


class RecordingServer:
    """A raw HTTP/1.1 server on 127.0.0.1, in threads: it keeps connections alive and
    records each request's bytes as they came (headers and body), answering 200 with
    ``ANSWER``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.requests: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        received = b""
        if self.tls:
            connection = self.tls.wrap_socket(connection, server_side=True)
        with connection:
            while True:
                while b"\r\n\r\n" not in received:
                    more = connection.recv(65536)
                    if not more:
                        return
                    received += more
                head, _, received = received.partition(b"\r\n\r\n")
                fields = dict(
                    line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:] if line
                )
                if fields.get(b"transfer-encoding") == b"chunked":
                    end = b"0\r\n\r\n"
                    while end not in received:
                        received += connection.recv(65536)
                    body, _, received = received.partition(end)
                    body += end
                else:
                    length = int(fields.get(b"content-length", b"0"))
                    while len(received) < length:
                        received += connection.recv(65536)
                    body, received = received[:length], received[length:]
                self.requests.append(head + b"\r\n\r\n" + body)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
                )


@pytest.fixture
def server():
    server = RecordingServer()
    yield server
    server.close()


@pytest.fixture
def writes(monkeypatch) -> list[bytes]:
    """Each ``sendall`` this test's thread makes on a socket, plain or TLS (the server's
    threads' are not counted)."""
    written: list[bytes] = []
    caller = threading.get_ident()

    def recording(sendall):
        def recorded(sock, data, *args):
            if threading.get_ident() == caller:
                written.append(bytes(data))
            return sendall(sock, data, *args)

        return recorded

    monkeypatch.setattr(socket.socket, "sendall", recording(socket.socket.sendall))
    monkeypatch.setattr(ssl.SSLSocket, "sendall", recording(ssl.SSLSocket.sendall))
    return written


@pytest.fixture
def tls_server(tmp_path):
    """A ``RecordingServer`` over TLS, with a self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make the certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    new_pair = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(  # noqa: S603 (fixed arguments)
        [openssl, *new_pair, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = RecordingServer(tls=context)
    server.cert = cert
    yield server
    server.close()


class OpenClient(PlatformClient):
    platform_name = "Open platform"


def test_a_json_post_through_the_worker_session_is_one_write_of_headers_and_body(server, writes):
    response = worker_session("one-write").post(server.url + "accounts", json={"name": "Acme"})

    assert response.json() == {"ok": True}
    assert len(writes) == 1
    head, _, body = writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /accounts HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 16" in head
    assert body == b'{"name": "Acme"}'
    assert server.requests == writes  # the server read exactly what was written


def test_a_json_post_over_tls_is_one_write_too(tls_server, writes):
    response = worker_session("one-write").post(
        tls_server.url + "accounts", json={"name": "Acme"}, verify=str(tls_server.cert)
    )

    assert response.json() == {"ok": True}
    assert len(writes) == 1
    assert writes[0].startswith(b"POST /accounts HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 16\r\n" in writes[0]
    assert writes[0].endswith(b'\r\n\r\n{"name": "Acme"}')
    assert tls_server.requests == writes


def test_a_client_without_a_session_sends_its_json_call_in_one_write(server, writes):
    with OpenClient(server.url) as client:
        assert client.request("PATCH", "accounts/1", json_body={"name": "Acme"}) == {"ok": True}

    assert len(writes) == 1
    assert writes[0].startswith(b"PATCH /accounts/1 HTTP/1.1\r\n")
    assert writes[0].endswith(b'\r\n\r\n{"name": "Acme"}')
    assert server.requests == writes


def test_a_get_is_one_write_of_its_headers_alone(server, writes):
    session = worker_session("one-write")

    assert session.get(server.url + "accounts", params={"q": "x"}).json() == {"ok": True}
    assert session.get(server.url + "accounts").json() == {"ok": True}  # kept alive

    assert len(writes) == 2
    assert writes[0].startswith(b"GET /accounts?q=x HTTP/1.1\r\n")
    assert all(write.endswith(b"\r\n\r\n") for write in writes)
    assert b"Content-Length" not in writes[0]
    assert server.requests == writes


def test_a_body_from_a_generator_is_still_sent_chunked_after_its_headers(server, writes):
    def parts():
        yield b'{"name": '
        yield b'"Acme"}'

    response = worker_session("one-write").post(server.url + "accounts", data=parts())

    assert response.json() == {"ok": True}
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert body == b'9\r\n{"name": \r\n7\r\n"Acme"}\r\n0\r\n\r\n'
    assert writes[0] == head + b"\r\n\r\n"  # the headers in a write of their own, as before
    assert len(writes) == 4


def test_a_body_from_a_file_is_still_streamed_after_its_headers(server, writes):
    response = worker_session("one-write").put(
        server.url + "files/1", data=io.BytesIO(b'{"name": "Acme"}')
    )

    assert response.json() == {"ok": True}
    assert server.requests[0].endswith(b'\r\nContent-Length: 16\r\n\r\n{"name": "Acme"}')
    assert writes == [server.requests[0][:-16], b'{"name": "Acme"}']


def test_a_connection_whose_request_failed_sends_nothing_of_it_with_the_next(
    server, writes, monkeypatch
):
    """The body fails after the header block was held; urllib3 closes the connection, and
    the same connection's next request carries none of the failed one's bytes."""
    session = worker_session("one-write")
    pool = session.get_adapter(server.url).poolmanager.connection_from_url(server.url)
    connection = pool._get_conn()
    body_to_chunks = urllib3.connection.body_to_chunks

    def failing_body(body, **options):
        def chunks():
            raise OSError("the body could not be read")
            yield b""

        return ChunksAndContentLength(chunks(), body_to_chunks(body, **options).content_length)

    with monkeypatch.context() as patched, pytest.raises(OSError, match="could not be read"):
        patched.setattr(urllib3.connection, "body_to_chunks", failing_body)
        connection.request("POST", "/failed", body=json.dumps({"a": 1}).encode())
    connection.close()  # as urllib3 does with a connection whose request failed

    connection.request("GET", "/next")
    assert connection.getresponse().data == ANSWER

    assert [request.split(b" ", 2)[:2] for request in server.requests] == [[b"GET", b"/next"]]
    assert len(writes) == 1
    assert b"/failed" not in writes[0]
    connection.close()


def test_a_call_through_a_proxy_still_goes_through(server):
    response = worker_session("one-write").post(
        "http://platform.test/accounts", json={"name": "Acme"}, proxies={"http": server.url}
    )

    assert response.json() == {"ok": True}
    assert server.requests[0].startswith(b"POST http://platform.test/accounts HTTP/1.1\r\n")
    assert server.requests[0].endswith(b'\r\n\r\n{"name": "Acme"}')


def test_the_worker_session_and_a_clients_own_session_use_the_one_write_connections():
    with OpenClient("http://platform.test/") as client:
        for session in (worker_session("one-write"), client.session):
            for url in ("http://platform.test/", "https://platform.test/"):
                pool = session.get_adapter(url).poolmanager.connection_from_url(url)
                assert issubclass(pool.ConnectionCls, http._OneWriteHTTPConnection)
