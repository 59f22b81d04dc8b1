"""Results: folders written atomically, results.json, results.txt."""

from .folder import ResultsFolder, atomic_write_text

__all__ = ["ResultsFolder", "atomic_write_text"]
