"""Code that runs inside the Rasa server process but is not part of the trained model (so not in its hash)."""
