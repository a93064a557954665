"""The platform program's code. Layout (bottom to top; a module imports only from its own level or below):

settings/       what the user configured, typed and validated; names and versions every layer agrees on
rendering/      the manifest layer registry, the Flux-compatible renderer and the substitution variables
kube/           Kubernetes helpers (apply, read, Helm release, kind cluster and host-file dynamic providers)
vault_runtime/  what drives Vault at run time: transport, tunnel, init/unseal/bootstrap operations and providers
charts/         the Helm chart registry: each release's chart, namespace, values and switch
layers/, vault/ the layer ComponentResources (vault/ holds the Vault server and Vault operators layers)
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# Stacks deployed before the restructure hold dynamic providers pickled under their old module paths
# (dill stores classes by reference). A delete or refresh of such a resource runs with the state's pickle,
# so those module names must keep importing: each resolves to the module that now holds the class.
LEGACY_MODULES = {
    "components.kind_provider": "components.kube.kind_provider",
    "components.host_file": "components.kube.host_file",
    "components.vault.providers": "components.vault_runtime.providers",
    "components.vault.operations": "components.vault_runtime.operations",
    "components.vault.transport": "components.vault_runtime.transport",
    "components.vault.flavour": "components.vault_runtime.flavour",
    # Moved below the admin policy, which pins its names and bodies (imports of the old path keep working).
    "components.vault.policies": "components.vault_runtime.policies",
}


class _LegacyModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in LEGACY_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(LEGACY_MODULES[spec.name])

    def exec_module(self, module):
        sys.modules[module.__name__] = module


if not any(isinstance(finder, _LegacyModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_LegacyModuleFinder())
