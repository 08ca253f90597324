from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult


def process_event(event: InboundEvent) -> HandlerResult:
    raise ValueError("not ready")
