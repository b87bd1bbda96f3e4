"""The instance's Ed25519 signing key: signs dataset manifests and revocation lists.

The private key is 32 random bytes kept in ``instance_secrets`` (created on first use, shared
by every worker); it never leaves the database. The public key is published at
``GET /api/v1/signing-key`` and embedded in everything signed, with its fingerprint
(``sha256:`` + hex of the SHA-256 of the raw 32-byte public key), so a holder can pin it.

A signed document is a JSON object with a ``signing`` block (algorithm, public key,
fingerprint) and a ``signature`` (base64): the Ed25519 signature of the document without
``signature``, serialised canonically (keys sorted, no spaces, UTF-8). Checking needs no
database: :func:`check_signature`.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from .auth import instance_secret

KEY_NAME = "signing_ed25519"
ALGORITHM = "Ed25519"


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(raw_public: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw_public).hexdigest()


def _private_key(session: Session) -> Ed25519PrivateKey:
    # Call outside any unit of work: the key is created (a write) on first use.
    return Ed25519PrivateKey.from_private_bytes(instance_secret(session, KEY_NAME))


def public_key_info(key: Ed25519PrivateKey | Ed25519PublicKey) -> dict:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"algorithm": ALGORITHM, "public_key": base64.b64encode(raw).decode(), "fingerprint": fingerprint(raw)}


def public_key(session: Session) -> dict:
    """The instance's public key: algorithm, base64 of the raw key, fingerprint."""
    return public_key_info(_private_key(session))


class Signer:
    """Signs documents with one key: ``Signer.for_instance(session)`` is the instance's."""

    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        self.info = public_key_info(key)

    @classmethod
    def for_instance(cls, session: Session) -> Signer:
        return cls(_private_key(session))

    def sign(self, document: dict) -> dict:
        body = {k: v for k, v in document.items() if k != "signature"}
        body["signing"] = self.info
        return {**body, "signature": base64.b64encode(self._key.sign(canonical(body))).decode()}


def check_signature(document: object, *, trusted_fingerprint: str | None = None) -> list[str]:
    """What is wrong with a signed document's signature (empty when it is good)."""
    if not isinstance(document, dict):
        return ["is not a JSON object"]
    signing, signature = document.get("signing"), document.get("signature")
    if not isinstance(signing, dict) or not isinstance(signature, str):
        return ["has no signature (a 'signing' block and a 'signature' are required)"]
    if signing.get("algorithm") != ALGORITHM:
        return [f"signature algorithm is {signing.get('algorithm')!r}, expected {ALGORITHM!r}"]
    try:
        raw = base64.b64decode(str(signing.get("public_key")), validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
        sig = base64.b64decode(signature, validate=True)
    except ValueError as exc:
        return [f"public key or signature is not valid base64 Ed25519 data ({exc})"]
    problems = []
    actual = fingerprint(raw)
    if signing.get("fingerprint") != actual:
        problems.append(f"key fingerprint is {signing.get('fingerprint')!r} but the embedded public key's is {actual}")
    if trusted_fingerprint is not None and actual != trusted_fingerprint:
        problems.append(f"signed by key {actual}, not the trusted key {trusted_fingerprint}")
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        key.verify(sig, canonical(body))
    except InvalidSignature:
        problems.append("bad signature: the document was changed after it was signed, or signed by another key")
    return problems
