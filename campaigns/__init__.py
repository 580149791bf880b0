"""Outbound collections: reaching borrowers instead of only answering them (strategy, worker, dialer, messenger)."""
