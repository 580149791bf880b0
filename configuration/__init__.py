"""Configuration every process shares: the settings object (environment, by section) and the one way
YAML files are read and validated. Imports nothing of the project's, so every layer may use it."""
