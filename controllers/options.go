package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Options are the operator settings the reconcilers share, set from manager flags.
type Options struct {
	// DomainSuffix is appended to a customer ID to form its SIP domain.
	DomainSuffix string
	// RegistrarNamespace holds the registrar fleet and everything published for it:
	// domain ConfigMaps, credential Secrets, the nonce key.
	RegistrarNamespace string
	// Fleet shapes the registrar Deployment and Service.
	Fleet FleetOptions
	// Workers is how many Domains, and how many Extensions, are reconciled at once.
	Workers int
	// CountsInterval is how often at most a Domain counts its Extensions again
	// (status.extensions, status.registeredExtensions); 0 is DefaultCountsInterval.
	CountsInterval time.Duration
	// Anchor, when set, owns everything the operator creates in the registrar
	// namespace (see OwnerAnchor); nil: nothing there has an owner.
	Anchor *metav1.OwnerReference
}

// DefaultCountsInterval paces a Domain's counts: during a bulk load of 100,000
// Extensions, counting on every Extension event made the Domains' status writes
// three quarters of the operator's writes, and slowed the Extensions down.
const DefaultCountsInterval = 30 * time.Second

func (o Options) countsInterval() time.Duration {
	if o.CountsInterval > 0 {
		return o.CountsInterval
	}
	return DefaultCountsInterval
}

// DefaultWorkers is the flag default of Options.Workers.
const DefaultWorkers = 8

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return DefaultWorkers
}

// FleetOptions shape the registrar Deployment and its Service.
type FleetOptions struct {
	// Manage turns the fleet reconciler on; off when registrars are run by other means.
	Manage             bool
	Name               string
	Image              string
	ImagePullPolicy    corev1.PullPolicy
	Replicas           int32
	ServiceAccountName string
	ServiceType        corev1.ServiceType
	SIPPort            int32
	MetricsPort        int32
	ProbePort          int32
	// TLSSecretName names a kubernetes.io/tls Secret in the registrar namespace
	// (cert-manager's, say): when set, the registrar serves SIP over TLS on TLSPort
	// with its tls.crt and tls.key, and follows its renewals. Empty: no TLS.
	TLSSecretName string
	TLSPort       int32
	// SIPNodePort, TLSNodePort, WSNodePort and WSSNodePort fix the node ports of a
	// NodePort or LoadBalancer Service's SIP (UDP and TCP share it: Kubernetes allows
	// one node port for two protocols), TLS, ws:// and wss:// ports, so that phones
	// can be configured ahead of time and keep working when the Service is made
	// again; 0: the API server picks one. The operator refuses them with ClusterIP.
	SIPNodePort, TLSNodePort, WSNodePort, WSSNodePort int32
	// WSPort and WSSPort serve SIP over WebSocket (ws://) and secure WebSocket
	// (wss://, with TLSSecretName's certificate; none without it) on the pods and
	// the Service; 0: none. WSAllowedOrigins are the Origins of the web pages whose
	// scripts may connect (pages on the host connected to always may).
	WSPort, WSSPort  int32
	WSAllowedOrigins []string
	// ExternalTrafficPolicy of a NodePort or LoadBalancer Service. Local keeps each
	// phone's own address as the source the registrar sees (measured by make e2e):
	// with Cluster, kube-proxy masquerades it to a node address and random port, so a
	// call to the phone goes to that port and is lost once conntrack forgets the flow,
	// or when another replica sends it; throttling then sees one source for all.
	ExternalTrafficPolicy corev1.ServiceExternalTrafficPolicy
	// ServiceAnnotations are put on the registrar Service: what a cloud load balancer
	// controller reads (its scheme, target type, health check). One dropped from the
	// flags leaves the Service; annotations others put there stay.
	ServiceAnnotations map[string]string
	// LoadBalancerClass picks the load balancer controller of a LoadBalancer Service
	// (service.k8s.aws/nlb, say); empty: the cloud's default. The API server refuses
	// to change it on an existing Service: delete the Service to change it.
	LoadBalancerClass string
	// LoadBalancerSourceRanges are the CIDRs a LoadBalancer Service accepts traffic
	// from; none: any.
	LoadBalancerSourceRanges []string
	// RecordRouteHost is the address phones outside the cluster reach the fleet at
	// (a DNS name or IP, the LoadBalancer's), which the registrars write in
	// Record-Route instead of their pod IP, so that a phone's BYE and re-INVITE come
	// back through it; empty: the pod IP. Record-Route names each transport's
	// listening port, so that address must take SIP on the registrar's ports, unless
	// RecordRouteNodePorts.
	RecordRouteHost string
	// RecordRouteNodePorts hands the registrars the fixed node ports of a NodePort
	// Service to write in Record-Route with RecordRouteHost instead of their
	// listening ports (recordRoutePortsArgs): for phones that reach the nodes
	// directly, at the node ports. Off, a load balancer of one's own in front of the
	// nodes that forwards the registrar's ports to the node ports keeps working.
	// Only with a NodePort Service and RecordRouteHost (the operator refuses it
	// otherwise at start).
	RecordRouteNodePorts bool
	// ExtraArgs are appended to the registrar's command line.
	ExtraArgs []string
	// Resources of the registrar container; only cpu and memory are set by flags.
	// The registrar sets its Go soft memory limit from the memory limit.
	Resources corev1.ResourceRequirements
	// ImagePullSecrets name the Secrets of the registrar namespace that the registrar
	// pods pull their image with (a private registry); none by default.
	ImagePullSecrets []string
	// NodeSelector, Tolerations and Affinity place the registrar pods (on nodes with
	// public addresses, in a dedicated SIP node pool); none by default. The spread of
	// the replicas over nodes stays. One dropped from the flags leaves the Deployment.
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
	Affinity     *corev1.Affinity
}

// DefaultFleetOptions are the flag defaults.
func DefaultFleetOptions() FleetOptions {
	return FleetOptions{
		Manage:             true,
		Name:               "registrar",
		Image:              "ghcr.io/voipbin/registrar-operator:latest",
		ImagePullPolicy:    corev1.PullIfNotPresent,
		Replicas:           2,
		ServiceAccountName: "registrar",
		ServiceType:        corev1.ServiceTypeClusterIP,
		SIPPort:            5060,
		MetricsPort:        9090,
		ProbePort:          8081,
		TLSPort:            5061,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("192Mi"),
			},
			// No CPU limit: CFS throttling stalls a replica for the rest of its period
			// once it spends its quota, and a SIP server answering retransmitting
			// phones and ringing calls must not stall. The request reserves its share.
			// 512Mi holds about 180,000 Extensions: 2.5 KB each plus 64 MiB (see the
			// chart's registrar.resources).
			Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("512Mi"),
			},
		},
		ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
	}
}

// passwordLength is the length of generated passwords: 24 characters of 62 give ~142 bits.
const passwordLength = 24

// minRequeueAfter keeps a burst of binding expiries from requeueing in a busy loop.
const minRequeueAfter = time.Second
