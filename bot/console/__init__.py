"""The agent console: a web page served by the gateway (/console) and its JSON API (/api/console)."""
