"""Local cluster layer: the kind cluster the local stack creates when `kubernetes.cluster.create` is true.

What kind is told (cluster config, etcd encryption, containerd's registry mirror, port mappings) is plain data
in components/kube/kind_config.py; the dynamic provider that runs kind is components/kube/kind_provider.py.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_random as random
import yaml

from components.kube.host_file import HostFile
from components.kube.kind_config import kind_cluster_config, node_files, state_directory
from components.kube.kind_provider import KindCluster
from components.kube.read import decoded, secret_data_when
from components.layers.pki import ROOT_CA_SECRET
from components.settings.model import Settings


class LocalClusterComponent(pulumi.ComponentResource):
    """Owns the kind cluster of the local stack and its etcd encryption key.

    Needs: settings (`kubernetes.cluster`), kind and Docker on the machine running `pulumi up`. Gives:
    `kubeconfig` (a secret Output) for InfraComponent's provider, so nothing touches ~/.kube/config.
    """

    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:cluster:LocalCluster", name, None, opts)
        cluster = settings.kubernetes.cluster
        state_dir = state_directory(cluster.name)
        encryption_key: pulumi.Output[str] | None = None
        if cluster.encryption_at_rest:
            # 32 random bytes, base64: secretbox's key size. Fixed resource name: re-runs keep the key.
            key = random.RandomBytes("etcd-encryption-key", length=32, opts=pulumi.ResourceOptions(parent=self))
            encryption_key = pulumi.Output.secret(key.base64)
        self.cluster = KindCluster(
            "kind-cluster",
            cluster_name=cluster.name,
            # Host paths as a placeholder: the same text from every shell (the provider writes the real ones).
            config=yaml.safe_dump(kind_cluster_config(settings), sort_keys=False),
            encryption_key=encryption_key,
            node_files=node_files(settings),
            state_dir=str(state_dir),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Secret here too, not only through additional_secret_outputs: the provider's inputs must stay secret.
        self.kubeconfig = pulumi.Output.secret(self.cluster.kubeconfig)
        # Where the cluster's mounts really are: the created cluster's directory, not this shell's.
        self.state_dir = self.cluster.state_dir
        self.register_outputs({"clusterName": cluster.name})

    def trust_registry_ca(
        self, settings: Settings, provider: pulumi.ProviderResource, pki_objects: pulumi.Resource
    ) -> HostFile | None:
        """Once the PKI has issued its root CA: write it as `ca.crt` beside containerd's hosts.toml (the
        directory is bind-mounted into every node), so node pulls verify the in-cluster registry."""
        if not settings.registry.in_cluster:
            return None
        root_ca = secret_data_when(
            "registry-ca-source",
            settings.namespaces.cert_manager,
            ROOT_CA_SECRET,
            pki_objects.resources,  # type: ignore[attr-defined]  (ConfigGroup output: unknown until applied)
            provider,  # type: ignore[arg-type]
            self,
            preview=settings.preview,
        )
        return HostFile(
            "registry-ca",
            path=self.state_dir.apply(lambda base: str(Path(base) / "certs.d" / settings.registry.host / "ca.crt")),
            content=root_ca.apply(decoded("ca.crt")),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pki_objects]),
        )
