"""The call's playback buffer: order kept, underruns play silence, bursts drop the oldest."""

from __future__ import annotations

import numpy as np

from app.devices.audio import SampleFifo


def block(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_samples_come_out_in_order_across_blocks() -> None:
    fifo = SampleFifo(max_samples=100)
    fifo.write(block(1, 2, 3))
    fifo.write(block(4, 5))
    assert fifo.read(4).tolist() == [1, 2, 3, 4]
    assert fifo.queued == 1
    assert fifo.read(1).tolist() == [5]


def test_an_underrun_is_filled_with_silence() -> None:
    fifo = SampleFifo(max_samples=100)
    fifo.write(block(0.5, 0.5))
    assert fifo.read(5).tolist() == [0.5, 0.5, 0, 0, 0]
    assert fifo.queued == 0
    assert fifo.read(3).tolist() == [0, 0, 0]


def test_a_burst_drops_the_oldest_samples_to_stay_live() -> None:
    fifo = SampleFifo(max_samples=4)
    fifo.write(block(1, 2, 3))
    fifo.write(block(4, 5, 6))
    assert fifo.queued == 4
    assert fifo.read(4).tolist() == [3, 4, 5, 6]


def test_a_block_larger_than_the_limit_keeps_its_newest_end() -> None:
    fifo = SampleFifo(max_samples=2)
    fifo.write(block(1, 2, 3, 4, 5))
    assert fifo.read(3).tolist() == [4, 5, 0]
