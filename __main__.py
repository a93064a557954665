"""Pulumi entry point: read the settings, deploy the stack's composition, export where things are.

A config mistake is reported once, as the first and only error, without a traceback: `pulumi.log.error`
prints it, and exit code 32 tells Pulumi's Python language host that the program has already shown the
user an actionable message (it then adds no "unhandled exception" report of its own). Nothing is registered.
"""

import sys

import pulumi

from components.settings.load import settings_from_pulumi
from components.settings.reader import ConfigError
from stacks import deploy

# pulumi-language-python-exec's code for "exited after showing the user an actionable message".
SHOWN_TO_USER_EXIT_CODE = 32

try:
    settings = settings_from_pulumi()
except ConfigError as error:
    pulumi.log.error(str(error))
    sys.exit(SHOWN_TO_USER_EXIT_CODE)

for name, value in deploy(settings).items():
    pulumi.export(name, value)
