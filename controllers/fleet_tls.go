package controllers

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// SIP over TLS in the registrar fleet: the Secret mounted read-only as a folder
// (not subPath, whose files kubelet never updates), so that a renewed certificate
// reaches the registrar, which serves it to new connections without a restart.
const (
	tlsVolumeName = "sip-tls"
	tlsMountPath  = "/etc/registrar/tls"
	tlsPortName   = "sip-tls"
)

func tlsArgs(f FleetOptions) []string {
	if f.TLSSecretName == "" {
		return nil
	}
	return []string{
		fmt.Sprintf("--sip-tls-address=:%d", f.TLSPort),
		"--tls-cert-file=" + tlsMountPath + "/" + corev1.TLSCertKey,
		"--tls-key-file=" + tlsMountPath + "/" + corev1.TLSPrivateKeyKey,
	}
}

func tlsContainerPorts(f FleetOptions) []*corev1ac.ContainerPortApplyConfiguration {
	if f.TLSSecretName == "" {
		return nil
	}
	return []*corev1ac.ContainerPortApplyConfiguration{
		corev1ac.ContainerPort().WithName(tlsPortName).WithContainerPort(f.TLSPort).WithProtocol(corev1.ProtocolTCP),
	}
}

func tlsServicePorts(f FleetOptions) []*corev1ac.ServicePortApplyConfiguration {
	if f.TLSSecretName == "" {
		return nil
	}
	return []*corev1ac.ServicePortApplyConfiguration{
		corev1ac.ServicePort().WithName(tlsPortName).WithProtocol(corev1.ProtocolTCP).
			WithPort(f.TLSPort).WithTargetPort(intstr.FromString(tlsPortName)),
	}
}

func tlsVolumeMounts(f FleetOptions) []*corev1ac.VolumeMountApplyConfiguration {
	if f.TLSSecretName == "" {
		return nil
	}
	return []*corev1ac.VolumeMountApplyConfiguration{
		corev1ac.VolumeMount().WithName(tlsVolumeName).WithMountPath(tlsMountPath).WithReadOnly(true),
	}
}

func tlsVolumes(f FleetOptions) []*corev1ac.VolumeApplyConfiguration {
	if f.TLSSecretName == "" {
		return nil
	}
	return []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName(tlsVolumeName).WithSecret(corev1ac.SecretVolumeSource().
			WithSecretName(f.TLSSecretName).
			WithItems(
				corev1ac.KeyToPath().WithKey(corev1.TLSCertKey).WithPath(corev1.TLSCertKey),
				corev1ac.KeyToPath().WithKey(corev1.TLSPrivateKeyKey).WithPath(corev1.TLSPrivateKeyKey),
			)),
	}
}
