"""Every task kind, one module each; `registry` is the one list of them."""
