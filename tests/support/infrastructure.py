"""CDK context the infrastructure tests synthesize with."""

from __future__ import annotations

from mediatasks.local.stack import DEMO_TRIGGER_RULES

# the whole product: `mediatasks serve`'s trigger rules on top of cdk.json
WITH_TRIGGERS = {"mediatasks:triggerRules": DEMO_TRIGGER_RULES}
