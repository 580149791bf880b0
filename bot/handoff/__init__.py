"""Human handoff: the waiting queue, who holds a conversation, pushes to borrowers, and the triggers."""
