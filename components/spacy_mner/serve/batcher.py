"""A small asynchronous micro-batcher: requests that arrive together go through the model together.

A model is much faster per post on a batch than on one post at a time, and HTTP requests arrive one post
each. Every request submits its posts as one job; a single loop takes the first waiting job, gathers more for
up to `max_wait` seconds or until `max_batch_size` posts, and runs the whole group in one worker thread (one
thread: torch is never run concurrently, and the event loop stays free to accept and answer requests).
While a group runs, the next one queues up, so under load the batches grow by themselves and at one client
a post waits at most `max_wait`. A job whose caller gave up (its time limit passed) is skipped.
"""
import asyncio
import contextvars
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Deque, Generic, List, Optional, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class _Job(Generic[In, Out]):
    items: List[In]
    future: "asyncio.Future[List[Out]]" = field(repr=False)


class MicroBatcher(Generic[In, Out]):
    """Runs `process(items) -> outcomes` (one outcome per item, in order) over the items of many jobs at once.

    Start with `start()` inside the event loop; `stop()` lets the running group finish and ends the loop.
    """

    def __init__(self, process: Callable[[List[In]], List[Out]], *, max_batch_size: int, max_wait: float) -> None:
        if max_batch_size < 1 or max_wait < 0:
            raise ValueError(f"max_batch_size must be >= 1 and max_wait >= 0, not {max_batch_size} and {max_wait}")
        self.process = process
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self._jobs: Deque[_Job] = deque()
        self._arrived: Optional[asyncio.Event] = None
        self._loop_task: Optional[asyncio.Task] = None
        self._stopping = False
        # the context of the thread that loaded the model: thinc keeps its current ops (CPU/GPU) in a ContextVar
        self._context = contextvars.copy_context()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self.batches = 0  # groups run so far (the tests and /v1/info read it)

    def start(self) -> None:
        self._arrived = asyncio.Event()
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def run_once(self, items: List[In]) -> List[Out]:
        """Run `items` directly in the worker thread (warm-up), outside the batching loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._context.run, self.process, items)

    async def submit(self, items: List[In]) -> List[Out]:
        """The outcomes of `items`, once a group holding them has run. Cancel it to give up."""
        if self._loop_task is None or self._loop_task.done():
            raise RuntimeError("the batcher is not running")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._jobs.append(_Job(items, future))
        self._arrived.set()
        return await future

    async def stop(self) -> None:
        """Finish the group that is running and the jobs still waiting, then end the loop and the thread."""
        self._stopping = True
        if self._loop_task is not None:
            self._arrived.set()
            await self._loop_task
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            if not self._jobs:
                if self._stopping:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            group = await self._gather()
            if not group:
                continue
            items = [item for job in group for item in job.items]
            try:
                outcomes = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._context.run, self.process, items)
            except Exception as error:  # noqa: BLE001: a model failure fails its group's requests, not the server
                for job in group:
                    if not job.future.done():
                        job.future.set_exception(error)
                continue
            finally:
                self.batches += 1
            start = 0
            for job in group:
                if not job.future.done():  # its caller may have timed out meanwhile
                    job.future.set_result(outcomes[start:start + len(job.items)])
                start += len(job.items)

    async def _gather(self) -> List[_Job]:
        """Up to `max_batch_size` posts of waiting jobs (always at least one job), waiting up to `max_wait`
        after the first for more to arrive."""
        deadline = time.monotonic() + self.max_wait
        group: List[_Job] = []
        size = 0
        while True:
            while self._jobs:
                job = self._jobs[0]
                if job.future.done():
                    self._jobs.popleft()
                    continue
                if group and size + len(job.items) > self.max_batch_size:
                    return group
                group.append(self._jobs.popleft())
                size += len(job.items)
            remaining = deadline - time.monotonic()
            if not group or size >= self.max_batch_size or remaining <= 0:
                return group
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass
