"""``make run``: the whole local stack in one command.

Starts Azurite (data kept in ``.azurite/``), the Functions host on :7071 (http) and :7072
(https, with a development CA in ``.runtime/tls/``), creates the demo hub once, and prints
its connection strings. Everything it starts is stopped by PID when it stops. A second start
in the same state directory, or a start with a port taken, stops at once with one line.
"""
