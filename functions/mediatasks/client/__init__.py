"""The Python client of the mediatasks API: `from mediatasks.client import Client`.

It speaks HTTP with httpx and returns the contract's own response models; it imports nothing heavy
(no boto3, moto, CDK, Pillow or Powertools), so a web app can use it cheaply."""

from mediatasks.client.client import Client, Progress
from mediatasks.client.errors import ApiError, ApiUnreachable, ClientError, WaitTimedOut

__all__ = ["ApiError", "ApiUnreachable", "Client", "ClientError", "Progress", "WaitTimedOut"]
