"""The gateway's own routes, one module per resource (channels, console and demo pages live beside them)."""
