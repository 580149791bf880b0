"""Dialogue policy code: custom Rasa policies and conversation design helpers."""
