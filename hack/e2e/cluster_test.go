//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/voipbin/registrar-operator/hack/testenv"
)

// cluster is a single-node Kubernetes on this machine: etcd, the control plane,
// containerd and the node components, all state in one temporary folder.
type cluster struct {
	dir        string // everything the cluster writes
	assets     string // the built Kubernetes binaries and etcd
	nodeIP     string
	kubeconfig string
	procs      []*proc // in start order; stopped in reverse
	saved      map[string]string
	netnsFirst map[string]bool
	netnsMount bool // /run/netns was a mount point before the run
	outside    host // a machine outside the cluster, for phones
}

func (c *cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

func (c *cluster) containerdSock() string { return c.path("containerd", "containerd.sock") }

func (c *cluster) bin(name string) string { return filepath.Join(c.assets, name) }

func (c *cluster) start(name, bin string, args ...string) (*proc, error) {
	p, err := startProc(c.path("logs"), name, bin, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// startCluster brings the node up to Ready with kube-proxy running. On error, the
// caller still calls stop.
func startCluster(c *cluster, images []string) error {
	if err := os.MkdirAll(c.path("logs"), 0o755); err != nil {
		return err
	}
	if err := c.snapshotHost(); err != nil {
		return err
	}
	ip, err := nodeAddress()
	if err != nil {
		return err
	}
	c.nodeIP = ip.String()
	if c.outside, err = addOutside(); err != nil {
		return err
	}
	certs := c.path("pki")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return err
	}
	// The first address of the Service range is the kubernetes Service: pods reach the
	// API server through it.
	p, err := newPKI(certs, []net.IP{net.ParseIP("127.0.0.1"), ip, net.ParseIP("10.96.0.1")})
	if err != nil {
		return err
	}
	if err := c.startControlPlane(p); err != nil {
		return err
	}
	if err := c.startContainerd(images); err != nil {
		return err
	}
	return c.startNode(p)
}

func (c *cluster) startControlPlane(p pki) error {
	ports := freePorts(5)
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	etcd, err := c.start("etcd", c.bin("etcd"), "--data-dir", c.path("etcd"), "--name", "e2e",
		"--listen-client-urls", "http://127.0.0.1:"+etcdPort, "--advertise-client-urls", "http://127.0.0.1:"+etcdPort,
		"--listen-peer-urls", "http://127.0.0.1:"+peerPort, "--initial-advertise-peer-urls", "http://127.0.0.1:"+peerPort,
		"--initial-cluster", "e2e=http://127.0.0.1:"+peerPort, "--unsafe-no-fsync")
	if err != nil {
		return err
	}
	if err := etcd.waitFor(time.Minute, func() error { return dial("127.0.0.1:" + etcdPort) }); err != nil {
		return err
	}
	api, err := c.start("kube-apiserver", c.bin("kube-apiserver"),
		"--etcd-servers", "http://127.0.0.1:"+etcdPort,
		"--bind-address", "0.0.0.0", "--secure-port", apiPort, "--advertise-address", c.nodeIP,
		"--cert-dir", c.path("apiserver-certs"),
		"--tls-cert-file", p.path("apiserver.crt"), "--tls-private-key-file", p.path("apiserver.key"),
		"--client-ca-file", p.path("ca.crt"),
		"--kubelet-client-certificate", p.path("admin.crt"), "--kubelet-client-key", p.path("admin.key"),
		"--kubelet-preferred-address-types", "InternalIP", // the node's name resolves nowhere
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", p.path("sa.pub"), "--service-account-signing-key-file", p.path("sa.key"),
		"--service-cluster-ip-range", serviceCIDR, "--service-node-port-range", "30000-32767",
		"--authorization-mode", "RBAC", "--allow-privileged=true")
	if err != nil {
		return err
	}
	c.kubeconfig, err = p.kubeconfig("https://127.0.0.1:" + apiPort)
	if err != nil {
		return err
	}
	if err := api.waitFor(3*time.Minute, func() error {
		_, err := c.kubectl("get", "--raw", "/readyz")
		return err
	}); err != nil {
		return err
	}
	if _, err := c.start("kube-controller-manager", c.bin("kube-controller-manager"),
		"--kubeconfig", c.kubeconfig, "--authentication-kubeconfig", c.kubeconfig, "--authorization-kubeconfig", c.kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", ports[3], "--leader-elect=false",
		"--service-account-private-key-file", p.path("sa.key"), "--root-ca-file", p.path("ca.crt"),
		"--use-service-account-credentials=true", "--service-cluster-ip-range", serviceCIDR); err != nil {
		return err
	}
	_, err = c.start("kube-scheduler", c.bin("kube-scheduler"),
		"--kubeconfig", c.kubeconfig, "--authentication-kubeconfig", c.kubeconfig, "--authorization-kubeconfig", c.kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", ports[4], "--leader-elect=false")
	return err
}

// startContainerd starts containerd and imports the images (the pause image first).
func (c *cluster) startContainerd(images []string) error {
	if err := writeFiles(map[string]string{
		c.path("containerd", "config.toml"): c.containerdConfig(),
		c.path("cni", "10-e2e.conflist"):    c.cniConfig(),
	}); err != nil {
		return err
	}
	ctrd, err := c.start("containerd", "containerd", "--config", c.path("containerd", "config.toml"))
	if err != nil {
		return err
	}
	if err := ctrd.waitFor(time.Minute, func() error { _, err := c.ctr("version"); return err }); err != nil {
		return err
	}
	for _, image := range images {
		if _, err := c.ctr("images", "import", image); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) startNode(p pki) error {
	if err := writeFiles(map[string]string{
		c.path("kubelet.yaml"):          c.kubeletConfig(),
		c.path("kube-proxy.yaml"):       c.proxyConfig(),
		"/proc/sys/net/ipv4/ip_forward": "1",
	}); err != nil {
		return err
	}
	kubelet, err := c.start("kubelet", c.bin("kubelet"), "--config", c.path("kubelet.yaml"),
		"--kubeconfig", c.kubeconfig, "--root-dir", c.path("kubelet"), "--cert-dir", c.path("kubelet-certs"),
		"--hostname-override", nodeName, "--node-ip", c.nodeIP)
	if err != nil {
		return err
	}
	if _, err := c.start("kube-proxy", c.bin("kube-proxy"), "--config", c.path("kube-proxy.yaml")); err != nil {
		return err
	}
	return kubelet.waitFor(3*time.Minute, func() error {
		out, err := c.kubectl("get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if out != "True" {
			return fmt.Errorf("node %s not Ready (%q)", nodeName, out)
		}
		return nil
	})
}

func (c *cluster) kubectl(args ...string) (string, error) {
	out, err := run(c.bin("kubectl"), append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	return strings.TrimSpace(out), err
}

func (c *cluster) ctr(args ...string) (string, error) {
	return run("ctr", append([]string{"--address", c.containerdSock(), "--namespace", "k8s.io"}, args...)...)
}

// nodeAddress is the first IPv4 address of an interface that is up and not loopback:
// the address the node registers and the API server advertises to pods.
func nodeAddress() (net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || iface.Name == bridgeName {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.To4(), nil
			}
		}
	}
	return nil, fmt.Errorf("no IPv4 address on any interface but loopback")
}

// freePorts returns n distinct free ports on loopback, outside the kernel's
// ephemeral range (see testenv.FreePorts).
func freePorts(n int) []string {
	ports, err := testenv.FreePorts("127.0.0.1", n)
	if err != nil {
		panic(err)
	}
	out := make([]string, n)
	for i, p := range ports {
		out[i] = strconv.Itoa(p)
	}
	return out
}

func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = conn.Close()
	}
	return err
}
