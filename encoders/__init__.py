"""Research: a fine-tuned multilingual-e5-small intent classifier (see README.md). Not part of the product."""
