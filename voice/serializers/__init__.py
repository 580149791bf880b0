"""Wire protocols: each carrier or client is one module implementing FrameSerializer."""
