"""A minimal Kubernetes TokenReview endpoint over TLS on 127.0.0.1, for Vault's Kubernetes-auth logins.

Vault sends the login JWT to `POST /apis/authentication.k8s.io/v1/tokenreviews`; this server answers as
the API server would for a valid ServiceAccount token: the user named by the token's own claims. The
tests mint such tokens with `service_account_jwt()`; Vault itself then decides whether the role binds
that ServiceAccount and namespace, which is what the tests check.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.fixtures.certificates import ThrowawayCa

NAMESPACE_CLAIM = "kubernetes.io/serviceaccount/namespace"
NAME_CLAIM = "kubernetes.io/serviceaccount/service-account.name"
UID_CLAIM = "kubernetes.io/serviceaccount/service-account.uid"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account_jwt(namespace: str, name: str) -> str:
    """A JWT shaped like a legacy ServiceAccount token (the fake API server does not check signatures)."""
    header = {"alg": "RS256", "kid": "test"}
    claims = {
        "iss": "kubernetes/serviceaccount",
        NAMESPACE_CLAIM: namespace,
        "kubernetes.io/serviceaccount/secret.name": f"{name}-token",
        NAME_CLAIM: name,
        UID_CLAIM: str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{namespace}/{name}")),
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(b"unsigned")])


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            claims = _claims(body["spec"]["token"])
            status = {
                "authenticated": True,
                "user": {
                    "username": f"system:serviceaccount:{claims[NAMESPACE_CLAIM]}:{claims[NAME_CLAIM]}",
                    "uid": claims[UID_CLAIM],
                    "groups": ["system:serviceaccounts", f"system:serviceaccounts:{claims[NAMESPACE_CLAIM]}"],
                },
            }
        except (KeyError, IndexError, ValueError):
            status = {"authenticated": False, "error": "invalid token"}
        answer = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *_args: object) -> None:  # keep test output clean
        pass


class FakeTokenReview:
    """Start with `start()`, stop with `stop()`; `address` and `ca_pem` configure Vault's auth backend."""

    def __init__(self) -> None:
        ca = ThrowawayCa.create("fake-apiserver-ca")
        self.ca_pem = ca.ca_pem
        self._dir = tempfile.TemporaryDirectory(prefix="fake-apiserver-")
        files = ca.issue("fake-apiserver", ip_addresses=("127.0.0.1",)).write(Path(self._dir.name))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert, files.key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.address = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeTokenReview:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._dir.cleanup()
