"""The board side of edgeperf's protocols, shared by the virtual boards (`sim/`) and the agent.

One input buffer (`buffer`), one microsecond clock (`clock`), one timed loop (`eembc.EembcDut.timed_loop`),
the EEMBC ASCII parser (`eembc`), the binary frames (`binary`) and a paced serial endpoint (`serial`).
Nothing here knows of the simulator: faults and cost models plug in through small interfaces.
"""
