"""Twilio request signature check, importable without the pydantic domain (webhook cold starts)."""

from shared.adapters.channels.signatures import verify_twilio_signature

__all__ = ["verify_twilio_signature"]
