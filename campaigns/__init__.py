"""Outbound collections: reaching borrowers instead of only answering them (issue 12)."""
