"""Protocol-faithful simulators of APNs, FCM v1, WNS, Web Push, ADM, Baidu and Xiaomi, with a
control API.

Start them all with ``python -m emulator.pns`` (prints one JSON line of endpoints), or in
tests with ``async with running_simulators() as sims:``. Nothing here imports ``shared``.
"""

from emulator.pns.client import ControlClient, ControlError
from emulator.pns.credentials import Credentials
from emulator.pns.hub import Endpoints, SimulatorHub
from emulator.pns.server import RunningSimulators, running_simulators
from emulator.pns.state import FaultKind, FaultSpec, HandleState, Sim

__all__ = [
    "ControlClient",
    "ControlError",
    "Credentials",
    "Endpoints",
    "FaultKind",
    "FaultSpec",
    "HandleState",
    "RunningSimulators",
    "Sim",
    "SimulatorHub",
    "running_simulators",
]
