"""HTTPS for the fake: a throwaway CA, a certificate for 127.0.0.1 and localhost.

simple-salesforce builds `https://` URLs whatever instance it is given, so the fake
speaks TLS, and clients trust it the ordinary way: `verify=<ca.pem>` on a requests
Session, or `REQUESTS_CA_BUNDLE`/`SSL_CERT_FILE` naming the CA file; certificate checks
are never switched off. Two sources of certificates:

- a `trustme.CA()` (tests): the fake has it issue the server certificate;
- built in: the `cryptography` package, which simple-salesforce already installs
  (through `pyjwt[crypto]`), so the sandbox needs no test-only dependency. The
  certificates satisfy Python 3.13's strict X.509 checks (key identifiers, key usage).
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOSTS = ("127.0.0.1", "localhost")


@dataclass
class ServerTLS:
    context: ssl.SSLContext
    ca_pem_path: Path


def from_trustme(ca: Any, directory: Path) -> ServerTLS:
    """A server context from a `trustme.CA`; its CA certificate written to `directory`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*HOSTS).configure_cert(context)
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ServerTLS(context, path)


def generate(directory: Path, days: int = 30) -> ServerTLS:
    """A fresh CA and server certificate made with `cryptography`, files in `directory`."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ModuleNotFoundError as exc:  # pragma: no cover - simple-salesforce brings it
        raise RuntimeError(
            "FakeSalesforce(tls=True) needs the 'cryptography' package "
            "(installed with simple-salesforce), or pass tls=trustme.CA()"
        ) from exc
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate(ca_key, ca_key, None, days)
    cert = _certificate(key, ca_key, ca_cert, days)
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return ServerTLS(context, directory / "ca.pem")


def _certificate(key: Any, signer: Any, issuer: Any, days: int) -> Any:
    """The CA's self-signed certificate when `issuer` is None, else a server certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    is_ca = issuer is None
    label = "FakeSalesforce test CA" if is_ca else "127.0.0.1"
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CareIntro fakes"),
            x509.NameAttribute(NameOID.COMMON_NAME, label),
        ]
    )
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if is_ca else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    )
    if not is_ca:
        names = [x509.IPAddress(ipaddress.ip_address(HOSTS[0])), x509.DNSName(HOSTS[1])]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False
        )
    return builder.sign(signer, hashes.SHA256())
