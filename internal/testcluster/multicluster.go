package testcluster

import (
	"context"
	"fmt"

	apinetworking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ClusterIdentity is how a primary's istiod names and places its cluster in a mesh of
// several, as Istio's multi-primary install sets it (values.global.multiCluster.clusterName,
// values.global.meshID, values.global.network).
type ClusterIdentity struct {
	ID      string // istiod's CLUSTER_ID: the cluster ID in telemetry
	MeshID  string // meshConfig.defaultConfig.meshId ("": not written)
	Network string // istio-system's topology.istio.io/network label ("": not written)
}

// NetworkLabel is the label that puts a namespace's (or a gateway's) workloads on a network.
const NetworkLabel = "topology.istio.io/network"

// LoadClusterControlPlane is LoadControlPlane for one primary of a multi-cluster mesh: istiod
// runs with the cluster's ID (CLUSTER_ID), the istio ConfigMap holds the mesh's config (trust
// domain, mesh ID) and istio-system is labelled with the cluster's network.
func (f *Fixture) LoadClusterControlPlane(ctx context.Context, replicas int32, id ClusterIdentity) error {
	if err := f.LoadControlPlane(ctx, replicas); err != nil {
		return err
	}
	if err := f.SetIstiodEnv(ctx, "CLUSTER_ID", id.ID); err != nil {
		return err
	}
	mesh := "trustDomain: cluster.local\nrootNamespace: " + IstioNamespace + "\n"
	if id.MeshID != "" {
		mesh += "defaultConfig:\n  meshId: " + id.MeshID + "\n"
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "istio", Labels: map[string]string{"istio.io/rev": "default"}}, Data: map[string]string{"mesh": mesh}}
	if _, err := f.Kube.CoreV1().ConfigMaps(IstioNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("configmap %s/istio: %w", IstioNamespace, err)
	}
	if id.Network == "" {
		return nil
	}
	return f.EnsureNamespace(ctx, IstioNamespace, map[string]string{NetworkLabel: id.Network})
}

// SetIstiodEnv sets an environment variable of istiod's container, as an install's values do.
func (f *Fixture) SetIstiodEnv(ctx context.Context, name, value string) error {
	deployments := f.Kube.AppsV1().Deployments(IstioNamespace)
	d, err := deployments.Get(ctx, "istiod", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("deployment %s/istiod: %w", IstioNamespace, err)
	}
	container := &d.Spec.Template.Spec.Containers[0]
	set := false
	for i := range container.Env {
		if container.Env[i].Name == name {
			container.Env[i].Value, set = value, true
		}
	}
	if !set {
		container.Env = append(container.Env, corev1.EnvVar{Name: name, Value: value})
	}
	if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("deployment %s/istiod: %w", IstioNamespace, err)
	}
	return nil
}

// EastWestLabels are the east-west gateway pods' labels, as Istio's gen-eastwest-gateway.sh
// sets them (plus the network's label).
var EastWestLabels = map[string]string{"app": "istio-eastwestgateway", "istio": "eastwestgateway"}

const eastWestServiceAccount = "istio-eastwestgateway-service-account"

// LoadEastWestGateway runs the east-west gateway of network in istio-system, as a multi-network
// install does: its Service on 15443 and one Ready pod, and Gateway cross-network-gateway
// passing mTLS through for every *.local host (Istio's expose-services.yaml).
func (f *Fixture) LoadEastWestGateway(ctx context.Context, network string) error {
	labels := map[string]string{NetworkLabel: network}
	for k, v := range EastWestLabels {
		labels[k] = v
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: eastWestServiceAccount}}
	if _, err := f.Kube.CoreV1().ServiceAccounts(IstioNamespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("east-west gateway service account: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-eastwestgateway", Labels: labels},
		Spec: corev1.ServiceSpec{Selector: EastWestLabels, Ports: []corev1.ServicePort{
			{Name: "status-port", Port: 15021, TargetPort: intstr.FromInt32(15021), Protocol: corev1.ProtocolTCP},
			{Name: "tls", Port: 15443, TargetPort: intstr.FromInt32(15443), Protocol: corev1.ProtocolTCP},
		}},
	}
	if _, err := f.Kube.CoreV1().Services(IstioNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("east-west gateway service: %w", err)
	}
	pod := routerPod("istio-eastwestgateway-0", labels, eastWestServiceAccount, 15443)
	if _, err := f.runPod(ctx, IstioNamespace, pod, true); err != nil {
		return err
	}
	gw := &networkingv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "cross-network-gateway"}}
	gw.Spec.Selector = map[string]string{"istio": "eastwestgateway"}
	gw.Spec.Servers = []*apinetworking.Server{{
		Port:  &apinetworking.Port{Number: 15443, Name: "tls", Protocol: "TLS"},
		Tls:   &apinetworking.ServerTLSSettings{Mode: apinetworking.ServerTLSSettings_AUTO_PASSTHROUGH},
		Hosts: []string{"*.local"},
	}}
	if _, err := f.Istio.NetworkingV1().Gateways(IstioNamespace).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("gateway %s/cross-network-gateway: %w", IstioNamespace, err)
	}
	return nil
}

// MeshMember is one cluster in a kubeconfig of several: the context that names it there.
type MeshMember struct {
	Context string
	Cluster *Cluster
}

// WriteMeshKubeconfig writes one kubeconfig holding every member: context CONTEXT for its
// admin, CONTEXT-USER for each other user of Users; the first member's admin is current.
func WriteMeshKubeconfig(path string, members ...MeshMember) error {
	merged := clientcmdapi.NewConfig()
	for _, m := range members {
		merged.Clusters[m.Context] = &clientcmdapi.Cluster{Server: m.Cluster.URL, CertificateAuthority: m.Cluster.caFile}
		for _, u := range Users {
			name := m.Context + "-" + u
			merged.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token(u)}
			if u == "admin" {
				name = m.Context
			}
			merged.Contexts[name] = &clientcmdapi.Context{Cluster: m.Context, AuthInfo: m.Context + "-" + u, Namespace: "default"}
		}
	}
	if len(members) > 0 {
		merged.CurrentContext = members[0].Context
	}
	return clientcmd.WriteToFile(*merged, path)
}
