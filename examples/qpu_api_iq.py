"""The raw QPU API: translate once, patch parameters per run, read integer and IQ buffers.

No job service here: this starts one emulated QPU controller on loopback (as a vendor's
controller would be reached) and speaks to it through ``qrelay.qpu.api``, in the style of
the QCS SDK. The program is written in the device's native ops (square_qpu: CZ, RX, RZ);
its angle ``theta`` is a patchable parameter, so the executable is translated once and
run for several values in one atomic batch.

    python examples/qpu_api_iq.py
"""

from __future__ import annotations

import math

import numpy as np

from qrelay.payload import Circuit, Register
from qrelay.qpu import api, translation
from qrelay.qpu.server import start_server

DEVICE = "square_qpu"


def program() -> Circuit:
    """RX(theta) on qubit 0; qubits 0 and 1 measured into register ``ro``."""
    return Circuit(
        num_qubits=2,
        registers=[Register(name="ro", size=2)],
        parameters=["theta"],
        instructions=[
            {"op": "rx", "qubits": [0], "params": ["theta"]},
            {"op": "measure", "qubits": [0], "clbits": [0]},
            {"op": "measure", "qubits": [1], "clbits": [1]},
        ],
        name="rx_theta",
    )


def main() -> None:
    thetas = [0.0, math.pi / 2, math.pi]
    with start_server(devices=[DEVICE], seed=11) as server:
        client = api.QpuClient(addresses={DEVICE: server.address})
        options = (
            api.ExecutionOptionsBuilder()
            .connection_strategy(api.ConnectionStrategy.direct_access())
            .timeout(30.0)
            .build()
        )
        translated = translation.translate(program(), 400, DEVICE, iq_readout=True)
        print(f"controller: {server.address}  device: {DEVICE}")
        print(f"readout buffers: {sorted(translated.ro_sources)}")
        job_ids = api.submit_with_parameter_batch(
            translated,
            [{"theta": [t]} for t in thetas],
            client=client,
            execution_options=options,
        )
        print("theta    P(ro[0]=1)  mean IQ of ro[0]        duration")
        for theta, job_id in zip(thetas, job_ids, strict=True):
            results = api.retrieve_results(job_id, client=client, execution_options=options)
            bits = results.buffers["ro[0]"]
            iq = results.buffers["ro[0]" + translation.IQ_SUFFIX]
            centre = complex(np.mean(iq.data))
            print(
                f"{theta:5.3f}    {float(np.mean(bits.data)):6.3f}      "
                f"{centre.real:+.3f}{centre.imag:+.3f}j        "
                f"{results.execution_duration_microseconds} us"
            )
        readout = translated.to_readout(results)
        print(f"payload readout counts of the last run: {readout.counts()}")
        client.close()


if __name__ == "__main__":
    main()
