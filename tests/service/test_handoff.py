"""Workers waiting in this process, and a new job's task handed straight to one."""

from __future__ import annotations

import asyncio

from qrelay.service.auth import WorkerPrincipal
from qrelay.service.handoff import IdleWorkers


def _worker(name: str, *targets: str) -> WorkerPrincipal:
    return WorkerPrincipal(worker_id=name, name=name, targets=frozenset(targets))


async def _waiting(
    idle: IdleWorkers, worker: WorkerPrincipal, timeout: float = 5.0
) -> asyncio.Task:
    task = asyncio.create_task(idle.wait(worker, sorted(worker.targets), asyncio.Event(), timeout))
    await asyncio.sleep(0)  # let it enlist
    return task


def test_the_longest_waiting_worker_of_the_target_is_claimed_and_handed_the_task() -> None:
    async def scenario() -> None:
        idle = IdleWorkers()
        first = await _waiting(idle, _worker("a", "aer_simulator", "cirq_simulator"))
        second = await _waiting(idle, _worker("b", "aer_simulator"))
        assert idle.claim("square_qpu") is None  # nobody serves it
        claimed = idle.claim("aer_simulator")
        assert claimed is not None
        assert claimed.worker.name == "a"
        # Claimed once, it is offered for none of its targets any more.
        assert idle.claim("cirq_simulator") is None
        claimed.hand(b'{"task_id":"1"}')
        assert await first == b'{"task_id":"1"}'
        assert not second.done()
        other = idle.claim("aer_simulator")
        assert other is not None
        assert other.worker.name == "b"
        other.hand(None)  # no lease was made: the waiter looks in the queue itself
        assert await second is None
        assert idle.claim("aer_simulator") is None

    asyncio.run(scenario())


def test_a_waiter_whose_time_ran_out_is_no_longer_claimed() -> None:
    async def scenario() -> None:
        idle = IdleWorkers()
        task = await _waiting(idle, _worker("a", "aer_simulator"), timeout=0.01)
        assert await task is None
        assert idle.claim("aer_simulator") is None

    asyncio.run(scenario())


def test_a_waiter_claimed_as_its_time_runs_out_still_gets_the_task() -> None:
    """The claimer is in the middle of its transaction: the task it leases is not lost."""

    async def scenario() -> None:
        idle = IdleWorkers()
        task = await _waiting(idle, _worker("a", "aer_simulator"), timeout=0.05)
        claimed = idle.claim("aer_simulator")
        assert claimed is not None
        await asyncio.sleep(0.1)  # the wait is over, the answer not given yet
        assert not task.done()
        claimed.hand(b"{}")
        assert await task == b"{}"

    asyncio.run(scenario())


def test_a_task_is_handed_across_event_loops() -> None:
    """A submission on another loop (the embedded default's calling thread) wakes a worker's
    request on the service's loop."""

    async def scenario() -> None:
        idle = IdleWorkers()
        task = await _waiting(idle, _worker("a", "aer_simulator"))
        claimed = idle.claim("aer_simulator")
        assert claimed is not None
        await asyncio.to_thread(asyncio.run, _hand(claimed))
        assert await asyncio.wait_for(task, 5) == b"{}"

    async def _hand(claimed: object) -> None:
        claimed.hand(b"{}")  # type: ignore[attr-defined]

    asyncio.run(scenario())
