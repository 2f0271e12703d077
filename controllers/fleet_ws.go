package controllers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// SIP over WebSocket in the registrar fleet: ws:// and wss:// on ports of their
// own, wss:// with the TLS Secret's certificate (mounted for TLS).
const (
	wsPortName  = "sip-ws"
	wssPortName = "sip-wss"
)

// wsPorts are the WebSocket ports served, by port name.
func wsPorts(f FleetOptions) map[string]int32 {
	ports := map[string]int32{}
	if f.WSPort > 0 {
		ports[wsPortName] = f.WSPort
	}
	if f.WSSPort > 0 && f.TLSSecretName != "" {
		ports[wssPortName] = f.WSSPort
	}
	return ports
}

func wsArgs(f FleetOptions) []string {
	ports := wsPorts(f)
	var args []string
	if p, ok := ports[wsPortName]; ok {
		args = append(args, fmt.Sprintf("--sip-ws-address=:%d", p))
	}
	if p, ok := ports[wssPortName]; ok {
		args = append(args, fmt.Sprintf("--sip-wss-address=:%d", p))
	}
	if len(ports) > 0 && len(f.WSAllowedOrigins) > 0 {
		args = append(args, "--ws-allowed-origins="+strings.Join(f.WSAllowedOrigins, ","))
	}
	return args
}

func wsContainerPorts(f FleetOptions) []*corev1ac.ContainerPortApplyConfiguration {
	var ports []*corev1ac.ContainerPortApplyConfiguration
	for _, name := range []string{wsPortName, wssPortName} {
		if p, ok := wsPorts(f)[name]; ok {
			ports = append(ports, corev1ac.ContainerPort().WithName(name).WithContainerPort(p).WithProtocol(corev1.ProtocolTCP))
		}
	}
	return ports
}

func wsServicePorts(f FleetOptions) []*corev1ac.ServicePortApplyConfiguration {
	var ports []*corev1ac.ServicePortApplyConfiguration
	for _, name := range []string{wsPortName, wssPortName} {
		if p, ok := wsPorts(f)[name]; ok {
			ports = append(ports, corev1ac.ServicePort().WithName(name).WithProtocol(corev1.ProtocolTCP).
				WithPort(p).WithTargetPort(intstr.FromString(name)))
		}
	}
	return ports
}
