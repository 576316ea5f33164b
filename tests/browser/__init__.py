"""Tests that drive a real Chromium against the app served on 127.0.0.1."""
