"""Microsoft Entra ID where the internet would be: the bot's own tokens, acquired exactly as in a
tenant, with nothing of ours replaced.

MSAL speaks only https to `login.microsoftonline.com`. A process started with `FakeEntra.env()`
reaches it through a local HTTPS proxy (`HTTPS_PROXY`): the proxy answers CONNECT for that one
host, with a certificate of a CA made here (`REQUESTS_CA_BUNDLE`), and plays Entra behind it:
tenant discovery, instance discovery and the token endpoint for the client-credentials grant
(a client secret, or a managed identity's token as a federated credential). Every other host is
refused and recorded. The same server plays Azure's managed-identity endpoint (as App Service
offers it: `IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).

Entra's answers follow a single-tenant app registration: the app exists in `tenant` only, so a
token asked for in any other tenant (`botframework.com`, the multi-tenant default) is refused
with Entra's own error, as a wrong secret or an identity without a federated credential is."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOGIN_HOST = "login.microsoftonline.com"
BOT_SCOPE = "https://api.botframework.com/.default"
BOT_AUDIENCE = "https://api.botframework.com"
EXCHANGE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SYSTEM_IDENTITY = "33333333-3333-4333-8333-333333333333"
"""The client id of the host's system-assigned identity."""


@dataclass
class Issued:
    grant: str
    """`secret`, `federated` (a managed identity's assertion) or `identity` (from the endpoint)."""
    tenant: str
    client_id: str
    audience: str


@dataclass
class FakeEntra:
    app_id: str
    tenant: str
    secret: str | None = None
    """The app registration's client secret (None: it has none)."""
    federated: set[str] = field(default_factory=set)
    """Client ids of managed identities the app registration trusts (federated credentials)."""
    identities: set[str] = field(default_factory=set)
    """Managed identities on this host (their client ids): SYSTEM_IDENTITY for the system-assigned."""
    identity_header: str = field(default_factory=lambda: uuid.uuid4().hex)
    issued: list[Issued] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """What was refused: a host not Entra's, or Entra's error code for a token request."""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    url: str = ""
    ca_file: Path | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self) -> dict[str, str]:
        """What a process needs to reach this Entra (and this host's identity endpoint) as it would
        reach Microsoft's."""
        assert self.ca_file, "start it first (EntraServer)"
        return {
            "HTTPS_PROXY": self.url,
            "https_proxy": self.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "SSL_CERT_FILE": str(self.ca_file),
            "IDENTITY_ENDPOINT": f"{self.url}/msi/token",
            "IDENTITY_HEADER": self.identity_header,
        }

    def verifies(self, bearer: str) -> dict[str, Any] | None:
        """The claims of a token this Entra issued for Bot Framework to the bot, else None."""
        try:
            claims: dict[str, Any] = jwt.decode(
                bearer, self.key.public_key(), algorithms=["RS256"], audience=BOT_AUDIENCE
            )
        except jwt.PyJWTError:
            return None
        return claims if claims.get("appid") == self.app_id else None

    def _token(self, tenant: str, client_id: str, audience: str, grant: str) -> str:
        now = int(time.time())
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "appid": client_id,
            "tid": tenant,
            "grant": grant,
        }
        with self._lock:
            self.issued.append(Issued(grant, tenant, client_id, audience))
        return jwt.encode(claims, self.key, algorithm="RS256")

    def _refuse(self, status: int, error: str, code: int, text: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.refused.append(f"AADSTS{code}")
        return status, {
            "error": error,
            "error_description": f"AADSTS{code}: {text}",
            "error_codes": [code],
        }

    # --- Entra ------------------------------------------------------------------------------------
    def login(self, method: str, path: str, query: dict[str, str], form: dict[str, str]) -> tuple[int, Any]:
        base = f"https://{LOGIN_HOST}"
        parts = path.strip("/").split("/")
        if parts == ["common", "discovery", "instance"]:
            return 200, {
                "tenant_discovery_endpoint": f"{base}/common/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": LOGIN_HOST,
                        "preferred_cache": "login.windows.net",
                        "aliases": [LOGIN_HOST, "login.windows.net", "sts.windows.net"],
                    }
                ],
            }
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            t = parts[0]
            return 200, {
                "issuer": f"{base}/{t}/v2.0",
                "authorization_endpoint": f"{base}/{t}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{t}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/{t}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/{t}/discovery/v2.0/keys",
                "tenant_region_scope": "EU",
            }
        if method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self._client_credentials(parts[0], form)
        return 404, {"error": "not_found"}

    def _client_credentials(self, tenant: str, form: dict[str, str]) -> tuple[int, Any]:
        if form.get("grant_type") != "client_credentials":
            return self._refuse(400, "unsupported_grant_type", 70003, "The grant type is not supported.")
        client = form.get("client_id", "")
        if client != self.app_id or tenant != self.tenant:
            return self._refuse(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client}' was not found in the directory '{tenant}'.",
            )
        if form.get("scope") != BOT_SCOPE:
            return self._refuse(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
        if "client_secret" in form:
            if self.secret is None or form["client_secret"] != self.secret:
                return self._refuse(401, "invalid_client", 7000215, "Invalid client secret provided.")
            grant = "secret"
        elif form.get("client_assertion_type") == JWT_BEARER:
            try:
                assertion = jwt.decode(
                    form.get("client_assertion", ""),
                    self.key.public_key(),
                    algorithms=["RS256"],
                    audience=EXCHANGE,
                )
            except jwt.PyJWTError:
                return self._refuse(
                    401, "invalid_client", 700024, "Client assertion is not within its valid time range."
                )
            if assertion.get("appid") not in self.federated:
                return self._refuse(
                    401,
                    "invalid_client",
                    70021,
                    "No matching federated identity record found for presented assertion.",
                )
            grant = "federated"
        else:
            return self._refuse(
                401,
                "invalid_client",
                7000218,
                "The request body must contain client_assertion or client_secret.",
            )
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": self._token(tenant, client, BOT_AUDIENCE, grant),
        }

    # --- the managed-identity endpoint --------------------------------------------------------------
    def identity(self, query: dict[str, str], header: str) -> tuple[int, Any]:
        if header != self.identity_header:
            return 401, {"statusCode": 401, "message": "X-IDENTITY-HEADER missing or wrong"}
        client = query.get("client_id") or SYSTEM_IDENTITY
        if client not in self.identities:
            return 400, {"statusCode": 400, "message": "No managed identity found for the given client id"}
        resource = query.get("resource", "")
        return 200, {
            "access_token": self._token(self.tenant, client, resource, "identity"),
            "expires_on": str(int(time.time()) + 3600),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client,
        }


def _ca_and_leaf(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA made here and a certificate for Entra's login host signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ruhepuls test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOGIN_HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(LOGIN_HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


def _respond(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


class EntraServer:
    """Runs a FakeEntra on a free port of 127.0.0.1: `with EntraServer(fake, tmp_path) as entra`."""

    def __init__(self, fake: FakeEntra, directory: Path) -> None:
        self.fake = fake
        fake.ca_file, context = _ca_and_leaf(directory)

        class Login(BaseHTTPRequestHandler):
            """Entra, inside the TLS tunnel."""

            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlparse(self.path)
                form = dict(parse_qsl(raw.decode())) if raw else {}
                _respond(self, *fake.login(self.command, url.path, dict(parse_qsl(url.query)), form))

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        class Proxy(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_CONNECT(self) -> None:  # noqa: N802
                if self.path != f"{LOGIN_HOST}:443":
                    with fake._lock:
                        fake.refused.append(self.path)
                    _respond(self, 403, {"error": "this proxy reaches Entra's login host only"})
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                try:
                    tunnel = context.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    self.close_connection = True
                    return
                Login(tunnel, self.client_address, self.server)
                self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                if url.path != "/msi/token":
                    _respond(self, 404, {"error": "not_found"})
                    return
                _respond(
                    self,
                    *fake.identity(dict(parse_qsl(url.query)), self.headers.get("X-IDENTITY-HEADER", "")),
                )

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        fake.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeEntra:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
