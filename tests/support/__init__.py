"""Test support: real servers on loopback, real databases, app import helpers."""
