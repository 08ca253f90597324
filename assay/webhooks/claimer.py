"""The loop that turns stored inbound events into processed ones, in a worker thread.

It claims due events from the table and processes them one after the other; when none are due it
looks again after `idle_wait` seconds, so an event is processed within about that long of its
arrival (docs/adr/0003-inbound-events-claimed-from-the-table.md).
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection

from assay.webhooks.services import CLAIM_BATCH, inbound_events_process_due

log = logging.getLogger(__name__)

IDLE_WAIT = 0.25  # seconds between looks at an empty queue: one indexed read each


class InboundEventClaimer:
    def __init__(self, *, idle_wait: float = IDLE_WAIT, batch: int = CLAIM_BATCH) -> None:
        self.idle_wait = idle_wait
        self.batch = batch

    def run(self, stop: threading.Event) -> None:
        """Claim and process until `stop` is set; finishes the event in hand first."""
        while not stop.is_set():
            if not self.round():
                stop.wait(self.idle_wait)

    def round(self) -> int:
        """Claim up to a batch of due events and process them. Returns how many were claimed; an
        error is logged and counts as an idle round, so the loop outlives a database restart."""
        if not connection.in_atomic_block:
            # Recycled between rounds as a request's connection is (age, errors); never inside a
            # caller's transaction.
            close_old_connections()
        try:
            return inbound_events_process_due(limit=self.batch)
        except Exception:
            log.exception("claiming inbound events failed; trying again shortly")
            connection.close()  # a broken connection is replaced on the next round
            return 0
