"""Borrower-facing channels (web chat widget, WeChat) that carry turns to ConversationService."""
