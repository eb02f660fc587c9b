"""The emulated QPU fleet and its gRPC controller.

- :mod:`qrelay.qpu.fleet`: the devices (``TargetInfo`` with calibration).
- :mod:`qrelay.qpu.translation`: a native payload circuit becomes an executable.
- :mod:`qrelay.qpu.api` (public): submit, cancel and retrieve over gRPC (behind it:
  ``client``, ``messages``, ``rpc``).
- :mod:`qrelay.qpu.server`: the controller on gRPC (``start_server``, ``qrelay qpu serve``).
- :mod:`qrelay.qpu.emulator`: the controller's queues, jobs and calls.
- :mod:`qrelay.qpu.simulation`: one program prepared, simulated and read out (IQ).

Nothing is imported here, so ``import qrelay.qpu.fleet`` needs no gRPC.
"""
