"""The gateway: the only process that talks to borrowers."""
