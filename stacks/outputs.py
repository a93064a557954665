"""What a user needs after `pulumi up`, as stack outputs: where the app, Vault and the registry are reached
from this machine, the kubeconfig of the kind cluster, and the commands that fetch the client certificates,
the root CA and (once) the unseal shares. Commands are plain strings: none contains a secret, they fetch
secrets from the cluster or from the encrypted stack state when the user runs them.
"""

from __future__ import annotations

import shlex
from typing import Any

from components.kube.kind_config import state_directory
from components.kube.kind_provider import KUBECONFIG_FILE
from components.layers.pki import ROOT_CA_SECRET
from components.settings import placement
from components.settings.model import Settings

# The port `vault.portForward` opens on 127.0.0.1 (not vault.localPort: the program's own tunnel, which
# exists only while a `pulumi` command that ran the program runs).
VAULT_FORWARD_PORT = 8200
# The unseal shares are secret outputs of the `vault-init` resource, in the state only: `--show-secrets` writes
# each secret as {"<signature>": ..., "plaintext": "<JSON text>"}; the jq program prints one share per line.
SHARES_COMMAND = (
    "pulumi stack export --show-secrets | jq -r '.deployment.resources[] "
    '| select(.urn | endswith("::vault-init")) | .outputs.keys | (.plaintext? // .) '
    '| if type == "string" then fromjson else . end | .[]\''
)


def kubeconfig_path(settings: Settings) -> str:
    """The kind cluster's kubeconfig file (written by kind, mode 0600); "" without the kind cluster."""
    cluster = settings.kubernetes.cluster
    return str(state_directory(cluster.name) / KUBECONFIG_FILE) if cluster.create else ""


def kubectl(settings: Settings) -> str:
    """`kubectl` aimed at the cluster the stack deploys to."""
    path = kubeconfig_path(settings)
    if path:
        return f"kubectl --kubeconfig {shlex.quote(path)}"
    context = settings.kubernetes.context
    return f"kubectl --context {shlex.quote(context)}" if context else "kubectl"


def app_url(settings: Settings) -> dict[str, Any]:
    """The app's HTTPS URL as reached from this machine, and what resolves its host name there."""
    host = settings.ingress.host
    if settings.kubernetes.cluster.create:
        # kind maps 127.0.0.1:<cluster.httpsPort> to Traefik's node port; the name must resolve to 127.0.0.1.
        port = settings.kubernetes.cluster.https_port
        return {"url": f"https://{host}:{port}/", "resolve": f"{host}:{port}:127.0.0.1"}
    return {"url": f"https://{host}:{settings.ingress.https_port}/", "resolve": ""}


def _secret_file(settings: Settings, namespace: str, secret: str, key: str, target: str) -> str:
    jsonpath = "{.data." + key.replace(".", "\\.") + "}"
    return f"{kubectl(settings)} -n {namespace} get secret {secret} -o jsonpath='{jsonpath}' | base64 -d > {target}"


def client_certificate_commands(settings: Settings) -> dict[str, str]:
    """Per `ingress.clientApps` entry: write its certificate and key (mode 0600) to `<client>.crt`/`.key`."""
    namespace = settings.namespaces.app
    commands = {}
    for client in settings.ingress.client_apps:
        secret = f"{client}-client-tls"
        commands[client] = " && ".join(
            [
                "umask 077",
                _secret_file(settings, namespace, secret, "tls.crt", f"{client}.crt"),
                _secret_file(settings, namespace, secret, "tls.key", f"{client}.key"),
            ]
        )
    return commands


def user_outputs(settings: Settings) -> dict[str, Any]:
    """The outputs of both stacks that tell a user where things are and how to get their credentials."""
    app = app_url(settings)
    root_ca = _secret_file(settings, settings.namespaces.cert_manager, ROOT_CA_SECRET, "ca.crt", "platform-ca.crt")
    client = settings.ingress.client_apps[0] if settings.ingress.client_apps else ""
    resolve = f"--resolve {app['resolve']} " if app["resolve"] else ""
    vault = settings.vault
    forward = local = ""
    if vault.in_app_cluster:
        service = f"{vault.release_name}-active" if vault.ha else vault.release_name
        port = f"{VAULT_FORWARD_PORT}:{VAULT_FORWARD_PORT}"
        forward = f"{kubectl(settings)} -n {settings.namespaces.vault} port-forward svc/{service} {port}"
        local = f"https://127.0.0.1:{VAULT_FORWARD_PORT}"
    return {
        "app": {
            "url": app["url"],
            "curl": f"curl {resolve}--cacert platform-ca.crt --cert {client}.crt --key {client}.key {app['url']}"
            if client
            else "",
        },
        # address: what the cluster's clients dial; localAddress: this machine, while portForward runs.
        "vault": {"address": placement.vault_address(settings), "portForward": forward, "localAddress": local},
        "registry": {"mode": settings.registry.mode, "host": settings.registry.host},
        "ingress": {"host": settings.ingress.host, "httpsPort": settings.ingress.https_port},
        "kubeconfigPath": kubeconfig_path(settings),
        "kubectl": kubectl(settings),
        "commands": {
            "rootCa": root_ca,
            "clientCertificates": client_certificate_commands(settings),
            "unsealShares": SHARES_COMMAND if vault.deployed else "",
        },
    }
