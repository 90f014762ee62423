"""Meta signature and handshake checks, importable without the pydantic domain (webhook cold starts)."""

from shared.adapters.channels.meta import (
    HandshakeOutcome,
    HandshakeResult,
    verify_handshake,
    verify_meta_signature,
)

__all__ = ["HandshakeOutcome", "HandshakeResult", "verify_handshake", "verify_meta_signature"]
