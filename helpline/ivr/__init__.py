"""The interactive voice response: prompts, their audio and the call flows."""
