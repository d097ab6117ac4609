"""Shared FEniCSx pieces: solver options, constrained (periodic) spaces, measures."""
