"""`python -m actions`: the action server, on the host and port in the settings, for Rasa only (actions.server)."""
import sys

from actions.server import MissingTokenError, main

if __name__ == "__main__":
    try:
        main()
    except MissingTokenError as error:
        sys.exit(str(error))
