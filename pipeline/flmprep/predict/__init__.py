"""Landmarks on source images: face boxes, recipe-consistent crops, iterative refinement."""
