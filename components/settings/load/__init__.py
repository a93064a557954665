"""Reading the stack's configuration into `Settings`: `stack` (the entry point and the sections every stack has),
`vault` (where Vault runs and how it is reached), `seal` (its unseal mechanism), `services` (S3, registry, Flux)."""

from components.settings.load.stack import load_settings, settings_from_pulumi

__all__ = ["load_settings", "settings_from_pulumi"]
