// Package testcluster starts a real control plane for end-to-end tests and the sandbox:
// etcd and kube-apiserver built from their own modules (hack/tools), on loopback ports, with
// token authentication and RBAC, and Istio's CRDs from the istio.io/api module client-go pins.
// There is no kubelet or controller manager: fixtures write the objects those would.
package testcluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Users the API server knows by bearer token. admin is in system:masters; the others have no
// rights until a test grants them some with RBAC objects.
var Users = []string{"admin", "viewer", "editor", "nobody", "auditor"}

// Options configure Start.
type Options struct {
	// BinDir holds etcd and kube-apiserver (hack/build-test-components.sh writes .cache/bin).
	BinDir string
	// Dir is where data, certificates, logs and the kubeconfig go. It must exist.
	Dir string
}

// Cluster is a running etcd + kube-apiserver.
type Cluster struct {
	// Kubeconfig is a file with one context per user in Users; the current one is admin.
	Kubeconfig string
	// URL is the API server's address (https://127.0.0.1:PORT).
	URL string

	dir     string
	caFile  string
	procs   []*exec.Cmd
	waitErr []chan error
}

// Start runs etcd and kube-apiserver and returns once the API server is ready.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	c := &Cluster{dir: opts.Dir}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: build the test components with `make test-components`", bin, opts.BinDir)
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := c.run(filepath.Join(opts.BinDir, "etcd"), "etcd.log",
		"--name=test",
		"--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+etcdClient, "--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer, "--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=test="+etcdPeer,
		"--unsafe-no-fsync", // throw-away data: durability buys nothing, fsync costs seconds
		"--log-level=warn",
	); err != nil {
		return nil, err
	}

	tokens, saKey, err := c.writeAuthFiles()
	if err != nil {
		return nil, err
	}
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	certDir := filepath.Join(c.dir, "certs")
	c.caFile = filepath.Join(certDir, "apiserver.crt")
	if err := c.run(filepath.Join(opts.BinDir, "kube-apiserver"), "kube-apiserver.log",
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir="+certDir,
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	); err != nil {
		return nil, err
	}
	if err := c.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// run starts one component with its output in a log file under the cluster's directory.
func (c *Cluster) run(bin, logName string, args ...string) error {
	logFile, err := os.Create(filepath.Join(c.dir, logName))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logFile.Close() }()
	c.procs = append(c.procs, cmd)
	c.waitErr = append(c.waitErr, done)
	return nil
}

// Stop ends the components, API server first.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		_ = c.procs[i].Process.Kill()
		<-c.waitErr[i]
	}
	c.procs, c.waitErr = nil, nil
}

// Dir is the cluster's working directory (logs: etcd.log, kube-apiserver.log).
func (c *Cluster) Dir() string { return c.dir }

// RESTConfig returns a client configuration for user (one of Users).
//
// Its clients are not rate-limited: client-go's default of 5 requests a second made loading
// the sandbox's fixture (hundreds of objects) take 25 s of a 40 s start on two cores.
func (c *Cluster) RESTConfig(user string) (*rest.Config, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: user}).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS = -1 // no client-side limit: the test API server is ours alone
	return cfg, nil
}

func token(user string) string { return user + "-token" }

func (c *Cluster) writeAuthFiles() (tokenFile, saKeyFile string, err error) {
	var b strings.Builder
	for i, u := range Users {
		groups := ""
		if u == "admin" {
			groups = `"system:masters"`
		}
		fmt.Fprintf(&b, "%s,%s,%d,%s\n", token(u), u, i+1, groups)
	}
	tokenFile = filepath.Join(c.dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(b.String()), 0o600); err != nil {
		return "", "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	saKeyFile = filepath.Join(c.dir, "sa.key")
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return tokenFile, saKeyFile, os.WriteFile(saKeyFile, keyPEM, 0o600)
}

func (c *Cluster) writeKubeconfig() error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: c.URL, CertificateAuthority: c.caFile}
	for _, u := range Users {
		cfg.AuthInfos[u] = &clientcmdapi.AuthInfo{Token: token(u)}
		cfg.Contexts[u] = &clientcmdapi.Context{Cluster: "test", AuthInfo: u, Namespace: "default"}
	}
	cfg.CurrentContext = "admin"
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	return clientcmd.WriteToFile(*cfg, c.Kubeconfig)
}

// KubeconfigVia writes a kubeconfig for the admin user that reaches the API server through
// server instead (a test proxy in front of it, whose certificate it does not check), and
// returns its path.
func (c *Cluster) KubeconfigVia(server, dir string) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxied"] = &clientcmdapi.Cluster{Server: server, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token("admin")}
	cfg.Contexts["admin"] = &clientcmdapi.Context{Cluster: "proxied", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "admin"
	path := filepath.Join(dir, "kubeconfig-via-proxy")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// waitReady polls /readyz (and then the default namespace, which the API server creates
// itself shortly after) until both answer, a component exits, or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		for i, done := range c.waitErr {
			select {
			case err := <-done:
				done <- err
				return fmt.Errorf("%s exited early (%v); see %s", filepath.Base(c.procs[i].Path), err, c.dir)
			default:
			}
		}
		if last = c.ready(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("API server not ready after 2m: %v (logs in %s)", last, c.dir)
		case <-tick.C:
		}
	}
}

func (c *Cluster) ready(ctx context.Context) error {
	if _, err := os.Stat(c.caFile); err != nil {
		return errors.New("serving certificate not written yet")
	}
	cfg, err := c.RESTConfig("admin")
	if err != nil {
		return err
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	for _, path := range []string{"/readyz", "/api/v1/namespaces/default"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token("admin"))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
