"""The Ed25519 key that signs an evidence pack's manifest.json.

Where the private key comes from, in this order:
1. the environment variable named by `reports.evidence_pack.signing_key_env` (default
   CHANGETRAIL_SIGNING_KEY): base64 of the 32 raw private-key bytes, or the path of a PEM file
   (PKCS#8, unencrypted);
2. `reports.evidence_pack.signing_key_file`, a PEM file (what `changetrail demo` writes);
3. neither: a one-off key generated for this pack, and the pack says so (the signature then
   proves only that the pack is unchanged since it was written, not who wrote it).
The private key never goes into the pack; the manifest carries the public key and its fingerprint
(SHA-256 of the 32 raw public-key bytes), which an auditor compares with the one published to them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningKeyError(ValueError):
    """The configured signing key cannot be read."""


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    source: str                      # where it came from, for the pack (never the key itself)

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)


def fingerprint(public_raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(public_raw).hexdigest()


def _from_pem(path: Path, what: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningKeyError(f"{what}: no such key file {path}") from None
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{what}: {path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{what}: {path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_signing_key(settings, environ=os.environ) -> SigningKey:
    """The key per the order above; a clear error naming the variable or file when it is unusable."""
    name = settings.signing_key_env
    value = (environ.get(name) or "").strip()
    if value:
        if value.startswith("-----BEGIN"):
            raise SigningKeyError(f"${name}: put the PEM in a file and set the variable to its path")
        path = Path(value).expanduser()
        if path.is_file():
            return SigningKey(_from_pem(path, f"${name}"), f"environment variable {name} (PEM file)")
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise SigningKeyError(f"${name}: neither base64 nor the path of an existing PEM file") from None
        if len(raw) != 32:
            raise SigningKeyError(f"${name}: an Ed25519 private key is 32 bytes, the base64 decodes to {len(raw)}")
        return SigningKey(Ed25519PrivateKey.from_private_bytes(raw), f"environment variable {name}")
    if settings.signing_key_file:
        return SigningKey(_from_pem(Path(settings.signing_key_file), "reports.evidence_pack.signing_key_file"),
                          f"key file {Path(settings.signing_key_file).name} (reports.evidence_pack.signing_key_file)")
    return SigningKey(Ed25519PrivateKey.generate(),
                      f"one-off key generated for this pack (${name} and signing_key_file not set)")


def write_key_file(path: Path) -> Path:
    """A new Ed25519 private key as an unencrypted PKCS#8 PEM, readable by its owner only."""
    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return path


def verify_signature(public_b64: str, signature_b64: str, message: bytes) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except Exception:  # noqa: BLE001 - any malformed key/signature is simply "does not verify"
        return False
    return True
