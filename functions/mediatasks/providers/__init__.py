"""Managed capabilities behind one small protocol each, with one adapter per backend (DESIGN.md)."""
