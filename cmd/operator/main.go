// Command operator reconciles Domains and Extensions into what the registrar pods
// read, and keeps the registrar fleet running.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/voipbin/registrar-operator/api/scheme"
	sipv1 "github.com/voipbin/registrar-operator/api/v1alpha1"
	"github.com/voipbin/registrar-operator/controllers"
	"github.com/voipbin/registrar-operator/internal/memlimit"
)

func main() {
	var (
		metricsAddr, probeAddr     string
		pprofAddr                  string
		secureMetrics, enableHTTP2 bool
		leaderElect                bool
		qps                        float64
		burst                      int
		serviceType, pullPolicy    string
		trafficPolicy              string
		extraArgs                  string
		wsOrigins, pullSecrets     string
		ownerAnchor                string
		sourceRanges               string
	)
	o := controllers.Options{Fleet: controllers.DefaultFleetOptions()}
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP, 0 to disable).")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Allow HTTP/2 on the metrics endpoint (off: HTTP/2 rapid-reset CVEs).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address of net/http/pprof (for example 127.0.0.1:6060, to profile the operator's memory); empty: off.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one operator replica reconciles.")
	flag.Float64Var(&qps, "kube-api-qps", 200, "Queries per second to the API server (a bulk load of 10,000 Extensions is bound by it).")
	flag.IntVar(&burst, "kube-api-burst", 400, "Burst of queries to the API server.")
	flag.IntVar(&o.Workers, "workers", controllers.DefaultWorkers, "Domains, and Extensions, reconciled at once.")
	flag.DurationVar(&o.CountsInterval, "domain-counts-interval", controllers.DefaultCountsInterval,
		"How often at most a Domain counts its Extensions again (its Extensions and Registered columns); shorter costs more status writes in bulk loads.")
	flag.StringVar(&o.DomainSuffix, "domain-suffix", sipv1.DefaultDomainSuffix, "Suffix of every SIP domain: {customerID}.{suffix}.")
	flag.StringVar(&o.RegistrarNamespace, "registrar-namespace", envOr("POD_NAMESPACE", "registrar-system"),
		"Namespace of the registrar fleet and of what is published for it (domain ConfigMaps, credential Secrets, nonce key).")
	flag.StringVar(&ownerAnchor, "owner-anchor", "",
		"ConfigMap in the registrar namespace that owns everything the operator creates there, so that deleting it (helm uninstall) deletes them; empty: none.")
	f := &o.Fleet
	flag.BoolVar(&f.Manage, "manage-registrar", f.Manage, "Run the registrar Deployment and Service (the nonce key is published either way).")
	flag.StringVar(&f.Name, "registrar-name", f.Name, "Name of the registrar Deployment and Service.")
	flag.StringVar(&f.Image, "registrar-image", f.Image,
		"Container image of the registrar; the chart and config/ pass the operator's own image, which holds both binaries.")
	flag.StringVar(&pullPolicy, "registrar-image-pull-policy", string(f.ImagePullPolicy), "Image pull policy of the registrar.")
	flag.StringVar(&pullSecrets, "registrar-image-pull-secrets", "",
		"Comma-separated names of Secrets in the registrar namespace that the registrar pods pull their image with; empty: none.")
	flag.Var(int32Flag{&f.Replicas}, "registrar-replicas", "Replicas of the registrar Deployment.")
	flag.Var(labelMapFlag{&f.NodeSelector}, "registrar-node-selector",
		`nodeSelector of the registrar pods, as a JSON object ({"sip.example.com/public-ip":"true"}) or key=value pairs separated by commas; empty: none.`)
	flag.Var(jsonFlag[[]corev1.Toleration]{&f.Tolerations, `JSON such as [{"key":"dedicated","operator":"Equal","value":"sip","effect":"NoSchedule"}]`},
		"registrar-tolerations", "Tolerations of the registrar pods, as the JSON of a pod spec's tolerations; empty: none.")
	flag.Var(jsonFlag[*corev1.Affinity]{&f.Affinity,
		`JSON such as {"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[...]}}}`},
		"registrar-affinity", "Affinity of the registrar pods, as the JSON of a pod spec's affinity; empty: none. Their spread over nodes stays.")
	flag.StringVar(&f.ServiceAccountName, "registrar-service-account", f.ServiceAccountName, "Service account of the registrar pods.")
	flag.StringVar(&serviceType, "registrar-service-type", string(f.ServiceType), "Type of the registrar Service: ClusterIP, NodePort or LoadBalancer.")
	flag.StringVar(&trafficPolicy, "registrar-external-traffic-policy", string(f.ExternalTrafficPolicy),
		"externalTrafficPolicy of a NodePort or LoadBalancer registrar Service: Local keeps phones' addresses (calls reach them), Cluster masquerades them.")
	flag.Var(jsonMapFlag(&f.ServiceAnnotations), "registrar-service-annotations",
		`Annotations of the registrar Service as a JSON object ({"service.beta.kubernetes.io/aws-load-balancer-scheme":"internet-facing"}); empty: none.`)
	flag.StringVar(&f.LoadBalancerClass, "registrar-load-balancer-class", "",
		"loadBalancerClass of a LoadBalancer registrar Service (the API server refuses to change it on an existing Service); empty: the cluster's default.")
	flag.StringVar(&sourceRanges, "registrar-load-balancer-source-ranges", "",
		"Comma-separated CIDRs a LoadBalancer registrar Service accepts traffic from; empty: any.")
	flag.StringVar(&f.RecordRouteHost, "registrar-record-route-host", "",
		"Address (DNS name or IP, the LoadBalancer's) that phones outside the cluster reach the registrar Service at, written by the registrars "+
			"in Record-Route instead of their pod IP so that BYE and re-INVITE come back; it must take SIP on the registrar's ports, "+
			"or on the fixed node ports with --registrar-record-route-node-ports. Empty: the pod IP.")
	flag.BoolVar(&f.RecordRouteNodePorts, "registrar-record-route-node-ports", false,
		"With --registrar-service-type=NodePort and --registrar-record-route-host naming the nodes, which phones reach directly at the node ports: "+
			"the registrars write the fixed node ports (--registrar-sip-node-port and the others) in Record-Route instead of their own. "+
			"Leave it off when --registrar-record-route-host is a load balancer of your own that forwards the registrar's ports to the node ports. "+
			"Refused without a NodePort Service and --registrar-record-route-host.")
	flag.Var(int32Flag{&f.SIPPort}, "registrar-sip-port", "SIP port (UDP and TCP) of the registrar pods and Service.")
	flag.StringVar(&f.TLSSecretName, "registrar-tls-secret", "",
		"kubernetes.io/tls Secret in the registrar namespace to serve SIP over TLS with (mounted read-only; renewals are followed); empty: no TLS.")
	flag.Var(int32Flag{&f.TLSPort}, "registrar-sip-tls-port", "SIP over TLS port of the registrar pods and Service, when --registrar-tls-secret is set.")
	flag.Var(int32Flag{&f.WSPort}, "registrar-sip-ws-port", "SIP over WebSocket (ws://) port of the registrar pods and Service; 0: none.")
	flag.Var(int32Flag{&f.WSSPort}, "registrar-sip-wss-port",
		"SIP over secure WebSocket (wss://) port of the registrar pods and Service, with the certificate of --registrar-tls-secret; 0: none.")
	// Node ports fixed ahead of time: phones are configured with them, and they hold
	// when the Service is made again.
	flag.Var(int32Flag{&f.SIPNodePort}, "registrar-sip-node-port",
		"Node port of SIP (UDP and TCP both) on a NodePort or LoadBalancer registrar Service; 0: the API server picks one.")
	flag.Var(int32Flag{&f.TLSNodePort}, "registrar-sip-tls-node-port",
		"Node port of SIP over TLS on a NodePort or LoadBalancer registrar Service (needs --registrar-tls-secret); 0: the API server picks one.")
	flag.Var(int32Flag{&f.WSNodePort}, "registrar-sip-ws-node-port",
		"Node port of SIP over WebSocket on a NodePort or LoadBalancer registrar Service (needs --registrar-sip-ws-port); 0: the API server picks one.")
	flag.Var(int32Flag{&f.WSSNodePort}, "registrar-sip-wss-node-port",
		"Node port of SIP over secure WebSocket on a NodePort or LoadBalancer registrar Service (needs --registrar-sip-wss-port); 0: the API server picks one.")
	flag.StringVar(&wsOrigins, "registrar-ws-allowed-origins", "",
		"Comma-separated Origins (https://phone.example.com) of web pages whose scripts may connect over WebSocket; * allows any. "+
			"Pages on the host connected to, and clients that send no Origin, are always allowed.")
	flag.Var(int32Flag{&f.MetricsPort}, "registrar-metrics-port", "Metrics port of the registrar pods.")
	flag.Var(int32Flag{&f.ProbePort}, "registrar-probe-port", "Health probe port of the registrar pods.")
	flag.StringVar(&extraArgs, "registrar-extra-args", "", "Space-separated extra arguments for the registrar.")
	// No CPU limit by default: CFS throttling would stall a latency-sensitive SIP server.
	flag.Var(quantityFlag{&f.Resources.Requests, corev1.ResourceCPU}, "registrar-cpu-request", "CPU request of the registrar container; empty: none.")
	flag.Var(quantityFlag{&f.Resources.Requests, corev1.ResourceMemory}, "registrar-memory-request", "Memory request of the registrar container; empty: none.")
	flag.Var(quantityFlag{&f.Resources.Limits, corev1.ResourceCPU}, "registrar-cpu-limit",
		"CPU limit of the registrar container; empty: none (throttling stalls SIP answers and retransmissions).")
	flag.Var(quantityFlag{&f.Resources.Limits, corev1.ResourceMemory}, "registrar-memory-limit",
		"Memory limit of the registrar container (about 2.5 KB per Extension plus 64Mi); empty: none.")
	memoryRatio := memlimit.Ratio(memlimit.DefaultRatio)
	flag.Var(&memoryRatio, "memory-limit-ratio",
		"Set the Go soft memory limit to this fraction of the container's memory limit (cgroup), unless GOMEMLIMIT is set; 0 disables.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	f.ServiceType, f.ImagePullPolicy = corev1.ServiceType(serviceType), corev1.PullPolicy(pullPolicy)
	f.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicy(trafficPolicy)
	f.ExtraArgs = strings.Fields(extraArgs)
	f.WSAllowedOrigins = commaList(wsOrigins)
	f.ImagePullSecrets = commaList(pullSecrets)
	f.LoadBalancerSourceRanges = commaList(sourceRanges)

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	memlimit.Apply(float64(memoryRatio), log)
	if err := checkResources(f.Resources); err != nil {
		log.Error(err, "invalid registrar resources")
		os.Exit(1)
	}
	if f.WSSPort > 0 && f.TLSSecretName == "" {
		log.Error(fmt.Errorf("--registrar-sip-wss-port=%d needs --registrar-tls-secret: wss:// serves its certificate", f.WSSPort), "invalid registrar WebSocket")
		os.Exit(1)
	}
	if err := checkRecordRouteHost(f.RecordRouteHost); err != nil {
		log.Error(err, "invalid registrar Record-Route address")
		os.Exit(1)
	}
	if err := checkService(*f); err != nil {
		log.Error(err, "invalid registrar Service")
		os.Exit(1)
	}
	if err := checkNodePorts(*f); err != nil {
		log.Error(err, "invalid registrar Service")
		os.Exit(1)
	}
	if err := checkRecordRouteNodePortsFlag(*f); err != nil {
		log.Error(err, "invalid registrar Record-Route ports")
		os.Exit(1)
	}
	if err := checkRecordRouteNodePorts(*f); err != nil {
		// A warning: calls over the other transports, and registering, still work.
		log.Info("warning: some calls through the registrar NodePort Service cannot be hung up", "problem", err.Error())
	}
	if err := checkRoutedSubscriptions(*f); err != nil {
		// A warning: where phones reach the pods, subscriptions work until a restart.
		log.Info("warning: subscriptions through the registrars break at a replica's restart", "problem", err.Error())
	}
	if p := f.ExternalTrafficPolicy; p != corev1.ServiceExternalTrafficPolicyLocal && p != corev1.ServiceExternalTrafficPolicyCluster {
		log.Error(fmt.Errorf("--registrar-external-traffic-policy=%q: want Local or Cluster", p), "invalid registrar Service")
		os.Exit(1)
	}

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics, TLSOpts: tlsOpts}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	ctx := ctrl.SetupSignalHandler()
	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(qps), burst
	leaderLease, err := anchorTo(ctx, cfg, &o, ownerAnchor, leaderElect)
	if err != nil {
		log.Error(err, "while reading the owner anchor")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                              scheme.New(),
		Cache:                               controllers.CacheOptions(o),
		Metrics:                             metricsOpts,
		HealthProbeBindAddress:              probeAddr,
		PprofBindAddress:                    pprofAddr,
		LeaderElection:                      leaderElect,
		LeaderElectionID:                    leaderLeaseName,
		LeaderElectionResourceLockInterface: leaderLease,
		LeaderElectionNamespace:             o.RegistrarNamespace,
		LeaderElectionReleaseOnCancel:       true,
	})
	if err != nil {
		log.Error(err, "while creating the manager")
		os.Exit(1)
	}
	if err := controllers.Setup(ctx, mgr, o); err != nil {
		log.Error(err, "while setting up the controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "while adding the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "while adding the readiness check")
		os.Exit(1)
	}
	log.Info("starting the operator", "domainSuffix", o.DomainSuffix, "registrarNamespace", o.RegistrarNamespace)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "while running the manager")
		os.Exit(1)
	}
}
