"""Small fake third-party servers for tests (no network, no real credentials)."""
