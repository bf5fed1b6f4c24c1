"""Jitter (playout) buffer for vocoder frames keyed by a wrapping frame sequence number.

Frames arrive with a ``seq_bits``-bit sequence number (12 bits: 0..4095, wrapping) and are played
one per 40 ms tick in sequence order. A received sequence number is unwrapped to the value nearest
the playout point: ``u = ref + ((seq - ref + M/2) mod M) - M/2`` with ``M = 2**seq_bits``.

Playout starts on the first tick at which the received frames span ``target_depth_frames`` sequence
numbers; from then on a frame arriving just in time is played ``target_depth_frames - 1`` ticks
after it arrived. A slot with nothing in it plays as ``None`` (the decoder conceals it). Everything
is keyed to the caller's sample indices, never the wall clock, so the buffer is deterministic.
"""

from dataclasses import dataclass

from skycall.errors import SkycallError


class PlayoutError(SkycallError):
    """Invalid playout-buffer configuration or input."""


@dataclass
class PlayoutStats:
    """Counters of a :class:`PlayoutBuffer` (frames unless stated).

    ``received``: pushes accepted into the buffer; ``played``: ticks that returned a payload;
    ``lost``: ticks whose slot was empty (nothing arrived in time); ``erased``: ticks whose slot
    held a ``None`` payload (the receiver knew the frame was corrupt); ``late``: arrivals for a slot
    already played; ``duplicate``: arrivals for a slot already filled or played with a payload;
    ``skipped``: slots jumped over (and any frames buffered in them dropped) when a frame arrived
    ``max_depth_frames`` or more slots ahead of the playout point;
    ``delay_sum_samples`` / ``delay_max_samples``: tick index minus arrival index of played frames.
    """

    received: int = 0
    played: int = 0
    lost: int = 0
    erased: int = 0
    late: int = 0
    duplicate: int = 0
    skipped: int = 0
    delay_sum_samples: int = 0
    delay_max_samples: int = 0

    @property
    def mean_delay_samples(self) -> float:
        """Mean buffering delay of played frames in samples (NaN before the first one)."""
        return self.delay_sum_samples / self.played if self.played else float("nan")


class PlayoutBuffer:
    """Reorders frames, drops duplicates, counts late and lost frames, one frame out per tick.

    Parameters
    ----------
    target_depth_frames : int
        Frames held before playout starts (>= 1); the nominal buffering delay is
        ``(target_depth_frames - 1)`` ticks of 40 ms.
    max_depth_frames : int
        A frame more than this many slots ahead of the playout point makes the buffer skip forward
        (slots passed over count as ``skipped``) so that frame sits ``target_depth_frames - 1`` ahead.
    seq_bits : int
        Width of the wrapping sequence number.
    """

    def __init__(self, target_depth_frames: int = 3, max_depth_frames: int = 50, seq_bits: int = 12):
        if not 1 <= seq_bits <= 32:
            raise PlayoutError(f"seq_bits={seq_bits} must be 1..32")
        modulus = 1 << seq_bits
        if not 1 <= target_depth_frames <= max_depth_frames < modulus // 2:
            raise PlayoutError(
                f"need 1 <= target_depth_frames ({target_depth_frames}) <= max_depth_frames "
                f"({max_depth_frames}) < 2**seq_bits / 2 ({modulus // 2})"
            )
        self.target_depth_frames = int(target_depth_frames)
        self.max_depth_frames = int(max_depth_frames)
        self.seq_bits = int(seq_bits)
        self._modulus = modulus
        self.reset()

    def reset(self) -> None:
        """Empty the buffer, forget the playout point and zero the counters."""
        self.stats = PlayoutStats()
        self._slots: dict[int, tuple[bytes | None, int]] = {}
        self._played_with_payload: set[int] = set()
        self._next: int | None = None  # unwrapped seq of the next slot to play; None before start
        self._newest: int | None = None

    @property
    def started(self) -> bool:
        """True once playout has begun."""
        return self._next is not None

    def _unwrap(self, seq: int) -> int:
        ref = self._next if self._next is not None else self._newest
        if ref is None:
            return seq
        half = self._modulus // 2
        return ref + ((seq - ref + half) % self._modulus) - half

    def push(self, seq: int, payload: bytes | None, arrival_sample_index: int) -> None:
        """Offer frame ``seq`` (``None`` payload = known-corrupt frame) that arrived at a sample index."""
        if not 0 <= seq < self._modulus:
            raise PlayoutError(f"seq={seq} is outside 0..{self._modulus - 1} ({self.seq_bits}-bit)")
        u = self._unwrap(int(seq))
        if self._next is not None:
            if u < self._next:
                if u in self._played_with_payload:
                    self.stats.duplicate += 1
                else:
                    self.stats.late += 1
                return
            if u - self._next >= self.max_depth_frames:
                self._skip_to(u - self.target_depth_frames + 1)
        if u in self._slots:
            self.stats.duplicate += 1
            return
        self._slots[u] = (payload, int(arrival_sample_index))
        self._newest = u if self._newest is None else max(self._newest, u)
        self.stats.received += 1

    def _skip_to(self, new_next: int) -> None:
        for u in range(self._next, new_next):
            self._slots.pop(u, None)
        self.stats.skipped += new_next - self._next
        self._next = new_next
        self._forget_played()

    def _forget_played(self) -> None:
        horizon = self._next - self._modulus // 2
        self._played_with_payload = {u for u in self._played_with_payload if u >= horizon}

    def pop(self, tick_sample_index: int) -> bytes | None:
        """Play the next 40 ms slot at ``tick_sample_index``; ``None`` means conceal (or not started)."""
        if self._next is None:
            if not self._slots or max(self._slots) - min(self._slots) + 1 < self.target_depth_frames:
                return None
            self._next = min(self._slots)
        u = self._next
        self._next += 1
        if u % self._modulus == 0:
            self._forget_played()
        slot = self._slots.pop(u, None)
        if slot is None:
            self.stats.lost += 1
            return None
        payload, arrival = slot
        if payload is None:
            self.stats.erased += 1
            return None
        delay = int(tick_sample_index) - arrival
        self.stats.played += 1
        self.stats.delay_sum_samples += delay
        self.stats.delay_max_samples = max(self.stats.delay_max_samples, delay)
        self._played_with_payload.add(u)
        return payload

    @property
    def depth_frames(self) -> int:
        """Frames currently buffered (filled slots at or after the playout point)."""
        return len(self._slots)
