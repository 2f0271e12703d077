//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
)

// The cluster's address ranges: pods on the CNI bridge, Services behind kube-proxy.
const (
	podCIDR     = "10.88.0.0/16"
	serviceCIDR = "10.96.0.0/16"
	bridgeName  = "e2ebr0"
	nodeName    = "e2e-node"
	pauseImage  = "registrar-e2e.local/pause:1"
)

// containerdConfig keeps all of containerd's state in the run's folder. It restricts
// oom_score_adj because root here lacks CAP_SYS_RESOURCE (runc fails to lower it
// otherwise), and runs our pause image since none can be pulled.
func (c *cluster) containerdConfig() string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[5]q
`, c.path("containerd/root"), c.path("containerd/state"), c.containerdSock(), pauseImage, c.path("cni"))
}

// cniConfig: a bridge with host-local addresses (its state in the run's folder),
// port mappings and loopback, as most single-node clusters have.
func (c *cluster) cniConfig() string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "e2e",
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, bridgeName, c.path("cni-ipam"), podCIDR)
}

// kubeletConfig: cgroupfs (the machine has cgroup v1, no systemd), failCgroupV1 off
// since 1.35 refuses v1 otherwise, oomScoreAdj 0 for the same reason as containerd;
// anonymous and allowed access to its API, for this single-user cluster.
func (c *cluster) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
oomScoreAdj: 0
failSwapOn: false
containerRuntimeEndpoint: unix://%s
podLogsDir: %s
address: %s
readOnlyPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: 50Mi, nodefs.available: 1%%, imagefs.available: 1%%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
`, c.containerdSock(), c.path("pod-logs"), c.nodeIP)
}

// proxyConfig: iptables mode (the kernel has no IPVS); no conntrack sysctls touched, so
// the kernel's UDP timeouts (30 s, 120 s once replied) are the ones under test.
func (c *cluster) proxyConfig() string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
oomScoreAdj: 0
clientConnection: {kubeconfig: %s}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`, podCIDR, nodeName, c.kubeconfig)
}

func writeFiles(files map[string]string) error {
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("while writing %s: %w", path, err)
		}
	}
	return nil
}
