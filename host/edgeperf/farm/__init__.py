"""Boards on other machines (ser2net, labgrid) and runs over many boards at once."""
