"""Real boards: the registry of descriptions, discovery of what is plugged in, and flashing."""

from .registry import BoardDescription, get_board, load_board_file, load_registry

__all__ = ["BoardDescription", "get_board", "load_board_file", "load_registry"]
