"""The voice call: over-the-air signalling, call state machines, and the voice path."""
