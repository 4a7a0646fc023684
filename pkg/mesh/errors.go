package mesh

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Explain turns errors from the API server or the network into messages that say what went
// wrong and what to do. The explanation replaces the recognised error's own text within the
// message, so that what surrounds it (which write failed, what was reverted) stays, and the
// error still unwraps to the original. Errors it does not recognise pass through unchanged.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	var done *explainedError
	if errors.As(err, &done) {
		return err
	}
	inner, explanation := explain(err)
	if inner == nil {
		return err
	}
	msg := err.Error()
	if innerText := inner.Error(); strings.Contains(msg, innerText) {
		msg = strings.Replace(msg, innerText, explanation, 1)
	} else {
		msg = explanation
	}
	return &explainedError{msg: msg, err: err}
}

type explainedError struct {
	msg string
	err error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// explain finds the error within err that it can explain, and the explanation.
func explain(err error) (inner error, explanation string) {
	var status apierrors.APIStatus
	var urlErr *url.Error
	var notJSON *NotKubernetesError
	hasURL := errors.As(err, &urlErr)
	where := "the API server"
	if hasURL {
		where = "the API server at " + hostOf(urlErr.URL)
	}
	switch {
	case apierrors.IsForbidden(err) && errors.As(err, &status):
		return status.(error), fmt.Sprintf("%s\n(your user lacks an RBAC permission: ask a cluster admin to grant it, or pass --as/--context for an account that has it)", status.Status().Message)
	case apierrors.IsUnauthorized(err) && errors.As(err, &status):
		return status.(error), "the API server rejected your credentials (401 Unauthorized): log in again, or check --kubeconfig and --context"
	case errors.As(err, &notJSON):
		return outer(hasURL, urlErr, notJSON), notJSON.Error()
	case errors.Is(err, context.Canceled):
		return outer(hasURL, urlErr, context.Canceled), "interrupted (Ctrl-C or a termination signal) while waiting for " + where
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return outer(hasURL, urlErr, context.DeadlineExceeded), where + " did not answer in time (--request-timeout)"
	case hasURL && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		// The request went out: the server may have acted on it.
		return urlErr, fmt.Sprintf("lost the connection to %s before its answer (%s)", where, Reason(urlErr.Err))
	case hasURL:
		var netErr net.Error
		if errors.As(err, &netErr) || strings.Contains(err.Error(), "connection refused") {
			return urlErr, fmt.Sprintf("cannot reach %s: %s\n(is the cluster up? check --kubeconfig, --context or --server)", where, Reason(urlErr.Err))
		}
	}
	return nil, ""
}

// outer is the URL error around a failure when there is one (its text names the request),
// else the failure itself.
func outer(hasURL bool, urlErr *url.Error, fallback error) error {
	if hasURL {
		return urlErr
	}
	return fallback
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

func errorMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// Reason says in words why a connection to a server failed. Go's own text names the request
// (`Get "https://host/api/v1/query?query=sum+by+%28...": dial tcp 10.0.0.1:9090: connect:
// connection refused`) and the syscall; the caller already says which server, so the reason
// is all that is left to say. Every message about an unreachable server takes it from here.
func Reason(err error) string {
	var (
		urlErr  *url.Error
		dnsErr  *net.DNSError
		unknown x509.UnknownAuthorityError
		badHost x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
		pathErr *fs.PathError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "no answer in time"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("no such host: the name %s does not resolve", dnsErr.Name)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot look up the name %s (DNS)", dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens on that address and port"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to that address"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	case errors.As(err, &unknown):
		return "its TLS certificate is signed by an authority this kubeconfig does not trust"
	case errors.As(err, &badHost):
		return fmt.Sprintf("its TLS certificate is not valid for %s", badHost.Host)
	case errors.As(err, &invalid):
		return "its TLS certificate is not valid (expired, or not yet valid)"
	case errors.As(err, &record):
		return "it does not speak TLS: try http:// rather than https://"
	case errors.As(err, &pathErr):
		return fmt.Sprintf("%s: %s", pathErr.Path, pathErr.Err)
	case errors.As(err, &urlErr):
		return Reason(urlErr.Err)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		// net/http's own sentence, with no type to tell it by.
		return "it answers plain HTTP, not HTTPS: use http://"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}
