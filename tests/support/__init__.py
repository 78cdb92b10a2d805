"""Helpers the test modules share: generated media, loopback servers, waiting on what can be seen.
Test modules import these, never each other."""
