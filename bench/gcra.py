"""The fakes' rate limits: GCRA, as the platforms describe theirs (a rate and a burst)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Gcra:
    enforce: bool = True
    _tat: dict[str, float] = field(default_factory=dict)

    def take(self, scopes: list[tuple[str, tuple[float, int]]]) -> float:
        """Seconds to wait if a call now would pass the limit of any scope (`key`, (rate per
        second, burst)), and then nothing is taken; 0 when it is within all, which it takes."""
        if not self.enforce:
            return 0.0
        now = time.monotonic()
        waits, taken = [], []
        for key, (rate, burst) in scopes:
            interval = 1 / rate
            tat = max(self._tat.get(key, now), now)
            waits.append(max(0.0, tat - interval * (burst - 1) - now))
            taken.append((key, tat + interval))
        if max(waits) > 1e-6:
            return max(waits)
        self._tat.update(taken)
        return 0.0
