"""Webhook signing secrets from Secrets Manager, cached per container.

Cached for five minutes so a rotation is picked up without a deploy, while a burst of
deliveries costs one GetSecretValue per container, not one per request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

CACHE_SECONDS = 300


class MissingSecret(KeyError):
    pass


class WebhookSecrets:
    def __init__(
        self,
        client: Any,
        secret_id: str,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = CACHE_SECONDS,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._clock = clock
        self._ttl = ttl
        self._values: dict[str, str] = {}
        self._loaded_at: float | None = None

    def get(self, key: str) -> str:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at > self._ttl:
            response = self._client.get_secret_value(SecretId=self._secret_id)
            self._values = {k: str(v) for k, v in json.loads(response["SecretString"]).items()}
            self._loaded_at = now
        value = self._values.get(key)
        if not value:
            raise MissingSecret(f"secret key {key!r} is not set")
        return value
