package mesh

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// NotKubernetesError is an answer that is not the API server's: an HTML page or text where
// Kubernetes JSON was due, typically from a proxy or load balancer in the way.
type NotKubernetesError struct {
	Method, URL, Status, ContentType string
	Body                             []byte // the start of it
}

func (e *NotKubernetesError) Error() string {
	contentType := e.ContentType
	if contentType == "" {
		contentType = "no content type"
	}
	return fmt.Sprintf("the server at %s answered %s %s with %s (%s), not Kubernetes JSON: %q\n(is a proxy or load balancer in the way? check --server and the kubeconfig's cluster)",
		hostOf(e.URL), e.Method, pathOf(e.URL), e.Status, contentType, bytes.TrimSpace(e.Body))
}

func pathOf(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.IndexByte(raw[i+3:], '/'); j >= 0 {
			return raw[i+3+j:]
		}
	}
	return raw
}

// checkAnswers turns answers that cannot be the API server's into NotKubernetesError: a
// success that is not JSON, protobuf or YAML, or an HTML page whatever its status. The API
// server's own plain-text answers (404 page not found for an API it does not serve, which
// says Istio is missing) pass through.
type checkAnswers struct{ next http.RoundTripper }

func (c checkAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	kubernetes := strings.Contains(mediaType, "json") || strings.Contains(mediaType, "protobuf") || strings.Contains(mediaType, "yaml")
	success := resp.StatusCode >= 200 && resp.StatusCode < 300
	if kubernetes || (!success && mediaType != "text/html") || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	start, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	resp.Body.Close()
	return nil, &NotKubernetesError{Method: req.Method, URL: req.URL.String(), Status: resp.Status, ContentType: resp.Header.Get("Content-Type"), Body: start}
}
