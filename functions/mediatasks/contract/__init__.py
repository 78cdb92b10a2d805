"""The API's wire shapes, one module per version; `latest` is the default."""
