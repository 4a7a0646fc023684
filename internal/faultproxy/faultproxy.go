// Package faultproxy is an HTTP proxy for tests that stands between the plugins and a real
// server (the test API server, Prometheus) and injects faults into chosen requests: an
// error status, a 429 with Retry-After, a connection reset before or after the request
// reaches the server, an answer held back, a page that is not the server's, or a hook (a
// Ctrl-C sent to the plugin) once a request is answered.
package faultproxy

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is what happens to a request a Rule picks.
type Fault struct {
	// Status answers with this code (and Body) instead of forwarding.
	Status     int
	RetryAfter string // with Status 429: the Retry-After header
	// Body and ContentType of the answer: Kubernetes' Status JSON when empty.
	Body, ContentType string
	// ResetBefore drops the connection without forwarding; ResetAfter forwards, lets the
	// server act, then drops the connection without answering.
	ResetBefore, ResetAfter bool
	// Delay holds the request this long before forwarding (or until the client gives up).
	Delay time.Duration
	// After runs once the server's answer has been sent back.
	After func()
}

// Rule picks requests: those Match accepts, the Nth of them (1-based), every one from the
// Nth on when Every is set, or the Nth to the Until-th.
type Rule struct {
	Match func(*http.Request) bool
	Nth   int
	Every bool
	Until int
	Fault Fault
	seen  int
}

// Writes matches the requests that change something.
func Writes(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Path matches requests whose path contains s.
func Path(s string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.Contains(r.URL.Path, s) }
}

// Proxy forwards to one server and applies its rules.
type Proxy struct {
	URL    string // where clients connect (http://127.0.0.1:PORT, or https://)
	server *httptest.Server
	proxy  *httputil.ReverseProxy

	mu     sync.Mutex
	rules  []*Rule
	hits   int // faults applied since the last Set
	writes int // writes received, ever
}

// New starts a plain-HTTP proxy in front of target (Prometheus).
func New(target string) (*Proxy, error) { return start(target, false) }

// NewTLS starts a proxy that serves TLS with a certificate of its own, for clients that send
// credentials only over TLS (client-go's bearer tokens): kubeconfigs skip its verification.
func NewTLS(target string) (*Proxy, error) { return start(target, true) }

// start starts a proxy in front of target. A TLS target's certificate is not checked: the
// proxy stands in the test's own loopback network.
func start(target string, serveTLS bool) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{proxy: httputil.NewSingleHostReverseProxy(u)}
	p.proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test proxy on loopback
	p.proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// The client went away (it gave up waiting): nothing to answer.
		if r.Context().Err() == nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}
	if serveTLS {
		p.server = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	} else {
		p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	}
	p.URL = p.server.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.server.Close() }

// Set replaces the rules; with none, every request is forwarded untouched.
func (p *Proxy) Set(rules ...*Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules, p.hits = rules, 0
}

// Hits is how many requests faults were applied to since the last Set.
func (p *Proxy) Hits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits
}

// Writes counts the writes (POST, PUT, PATCH, DELETE) the proxy has received.
func (p *Proxy) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

func (p *Proxy) pick(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	if Writes(r) {
		p.writes++
	}
	for _, rule := range p.rules {
		if rule.Match != nil && !rule.Match(r) {
			continue
		}
		rule.seen++
		if rule.seen == rule.Nth || (rule.Every || rule.seen <= rule.Until) && rule.seen >= rule.Nth {
			p.hits++
			f := rule.Fault
			return &f
		}
	}
	return nil
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	// Read the body first: only then does the server watch the connection, and end the
	// request's context when the client hangs up (as one that gave up waiting does).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f := p.pick(r)
	if f == nil {
		p.proxy.ServeHTTP(w, r)
		return
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case f.ResetBefore:
		reset(w)
		return
	case f.ResetAfter:
		p.proxy.ServeHTTP(discard{header: http.Header{}}, r)
		reset(w)
		return
	case f.Status != 0:
		answer(w, f)
	default:
		p.proxy.ServeHTTP(w, r)
	}
	if f.After != nil {
		if flusher, ok := w.(http.Flusher); ok {
			flusher.Flush()
		}
		f.After()
	}
}

func answer(w http.ResponseWriter, f *Fault) {
	body, contentType := f.Body, f.ContentType
	if body == "" {
		contentType = "application/json"
		body = fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"injected fault: HTTP %d","reason":"InternalError","code":%d}`, f.Status, f.Status)
	}
	w.Header().Set("Content-Type", contentType)
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(body))
}

// reset closes the client's connection without a word.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	raw := conn
	if tlsConn, ok := conn.(*tls.Conn); ok {
		raw = tlsConn.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // RST, not FIN
	}
	conn.Close()
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ header http.Header }

func (d discard) Header() http.Header       { return d.header }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
