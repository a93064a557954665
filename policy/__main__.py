"""Policy pack entry point: `pulumi preview --policy-pack policy`. The policies live in
`platform_policies.py` (importable and unit-tested: tests/unit/stacks/test_policies.py)."""

from platform_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

# Mandatory: a violation fails the preview. The Secret-values policy sets its own level (remediate).
PolicyPack(name="platform-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
