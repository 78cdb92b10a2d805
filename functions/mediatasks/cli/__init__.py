"""The `mediatasks` command: local runs through the service, --cloud runs through the client."""
