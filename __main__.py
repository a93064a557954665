"""Pulumi entry point: read the settings, deploy the stack's composition, export where things are."""

import pulumi

from components.settings.load import settings_from_pulumi
from stacks import deploy

settings = settings_from_pulumi()
for name, value in deploy(settings).items():
    pulumi.export(name, value)
