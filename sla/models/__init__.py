"""The sla app's models, one module per part: handoffs and routing, and the SLA contract."""

from sla.models.contract import *  # noqa: F403
from sla.models.handoffs import *  # noqa: F403
