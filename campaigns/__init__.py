"""Outbound collections: who is contacted when, and how (the dialer: campaigns.dialer)."""
