"""Secrets the functions read from Secrets Manager, cached for the life of a container."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from mediatasks.constants import ENV_CURSOR_SECRET_ARN

CACHE_SECONDS = 3600


class CursorKey:
    """The HMAC key that signs listing cursors, read on first use (only the API function lists, and
    only it may read the secret). A rotated key takes over within CACHE_SECONDS."""

    def __init__(self, secret_id: str) -> None:
        self._secret_id = secret_id
        self._provider: SecretsProvider | None = None

    def __call__(self) -> bytes:
        if not self._secret_id:
            raise RuntimeError(f"listing tasks needs the cursor secret's ARN in {ENV_CURSOR_SECRET_ARN}")
        if self._provider is None:
            self._provider = SecretsProvider()
        value = self._provider.get(self._secret_id, max_age=CACHE_SECONDS)
        return str(value).encode()
