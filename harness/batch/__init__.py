"""Batch grading: many submissions to one challenge, their reports on disk, and the class at a glance."""
