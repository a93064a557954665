"""Project tools (not part of the Pulumi program)."""
