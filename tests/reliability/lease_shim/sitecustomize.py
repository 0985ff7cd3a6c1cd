"""Imported at start-up by a Python whose PYTHONPATH names this folder (see
``tests/reliability/conftest.py``): the emulator host then holds the queue messages it runs
for ``HERALD_TEST_LEASE_SECONDS`` instead of 10 minutes, so that a test can see a killed
host's messages come back. The real host's lease is fixed too; the emulator has no option."""

import os

import emulator.queues

emulator.queues.LEASE_SECONDS = int(os.environ["HERALD_TEST_LEASE_SECONDS"])
