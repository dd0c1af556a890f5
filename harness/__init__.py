"""An autograder for PyTorch training skills: challenges graded in a locked-down sandbox."""

__version__ = "0.1.0"
