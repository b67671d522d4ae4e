"""Domain logic. Takes its stores and clients as arguments; knows nothing of Lambda events."""
