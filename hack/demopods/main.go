// Command demopods stands in for a kubelet in `make demo`: the local control
// plane has no nodes, so it creates one Node object and N pods for a
// Service, writes their status (Running, Ready, pod IP) the way a kubelet
// would, and waits until the EndpointSlice controller publishes them. Run
// again with another -replicas to scale up or down. Demo tooling only.
//
//	go run ./hack/demopods -kubeconfig KUBECONFIG -n test-ns -service test-name -replicas 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// podLabel marks the pods this tool manages, so scaling never touches others.
const podLabel = "demopods.openvessel.io/service"

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("CLICONFIG"), "kubeconfig of the cluster (default $CLICONFIG)")
	ns := flag.String("n", "default", "namespace of the Service")
	service := flag.String("service", "", "Service whose selector the pods match (required)")
	replicas := flag.Int("replicas", 3, "number of ready pods to have")
	ipPrefix := flag.String("ip-prefix", "10.0.0.", "pod i gets the IP <prefix><10+i>")
	node := flag.String("node", "demo-node", "Node the pods are bound to (created if missing)")
	revision := flag.String("revision", "", "pods are named <service>-<revision>-<i>: a new revision replaces every pod, as a rollout does")
	flag.Parse()
	if *service == "" || *replicas < 0 || *replicas > 240 {
		fmt.Fprintln(os.Stderr, "demopods: -service is required and -replicas must be 0-240")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := run(ctx, *kubeconfig, *ns, *service, *node, *ipPrefix, *revision, *replicas); err != nil {
		fmt.Fprintln(os.Stderr, "demopods:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, ns, service, node, ipPrefix, revision string, replicas int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	svc, err := kc.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if len(svc.Spec.Selector) == 0 {
		return fmt.Errorf("service %s/%s has no selector", ns, service)
	}
	// The EndpointSlice controller skips pods whose Node it does not know.
	_, err = kc.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}

	want := map[string]string{} // pod name → IP
	prefix := service + "-"
	if revision != "" {
		prefix += revision + "-"
	}
	for i := 1; i <= replicas; i++ {
		want[prefix+strconv.Itoa(i)] = ipPrefix + strconv.Itoa(10+i)
	}
	existing, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: podLabel + "=" + service})
	if err != nil {
		return err
	}
	zero := int64(0)
	for _, p := range existing.Items {
		if _, keep := want[p.Name]; !keep {
			// No kubelet would finish a graceful delete: remove it now.
			if err := kc.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ensureReadyPod(ctx, kc, svc, node, name, want[name]); err != nil {
			return err
		}
	}
	ips := make([]string, 0, len(names))
	for _, n := range names {
		ips = append(ips, want[n])
	}
	sort.Strings(ips)
	if err := waitPublished(ctx, kc, ns, service, ips); err != nil {
		return err
	}
	fmt.Printf("service %s/%s: %d ready pod(s) published in its EndpointSlices: %s\n", ns, service, len(ips), strings.Join(ips, " "))
	return nil
}

func ensureReadyPod(ctx context.Context, kc kubernetes.Interface, svc *corev1.Service, node, name, ip string) error {
	pods := kc.CoreV1().Pods(svc.Namespace)
	lbls := map[string]string{podLabel: svc.Name}
	for k, v := range svc.Spec.Selector {
		lbls[k] = v
	}
	var ports []corev1.ContainerPort
	for _, sp := range svc.Spec.Ports {
		if sp.TargetPort.IntValue() > 0 {
			ports = append(ports, corev1.ContainerPort{Name: sp.Name, ContainerPort: int32(sp.TargetPort.IntValue()), Protocol: sp.Protocol})
		}
	}
	p, err := pods.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		p, err = pods.Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svc.Namespace, Labels: lbls},
			Spec: corev1.PodSpec{
				NodeName:   node,
				Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Ports: ports}},
			},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		return err
	}
	now := metav1.Now()
	p.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		PodIP:  ip,
		PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// waitPublished waits until the Service's EndpointSlices list exactly ips as
// serving endpoints (and they are ready: pods of a terminating endpoint are
// gone by then).
func waitPublished(ctx context.Context, kc kubernetes.Interface, ns, service string, ips []string) error {
	sel := labels.Set{discoveryv1.LabelServiceName: service}.String()
	var got []string
	for {
		list, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return err
		}
		got = got[:0]
		for _, s := range list.Items {
			for _, ep := range s.Endpoints {
				// Serving, not only Ready: a deleted pod lingers a moment as
				// terminating-but-serving, which sync would drain.
				c := ep.Conditions
				if (c.Serving != nil && *c.Serving || c.Ready != nil && *c.Ready) && len(ep.Addresses) > 0 {
					got = append(got, ep.Addresses[0])
				}
			}
		}
		sort.Strings(got)
		if strings.Join(got, " ") == strings.Join(ips, " ") {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("EndpointSlices of %s/%s show %v, want %v", ns, service, got, ips), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
