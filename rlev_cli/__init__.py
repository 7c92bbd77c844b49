"""rlev: reinforcement learning with explicit human values (exam points) on TRL."""

__version__ = "0.1.0"
