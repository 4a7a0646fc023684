package output

import (
	"net/url"
	"strings"
)

// redactedUserInfo stands for credentials in a URL shown to the user.
const redactedUserInfo = "xxxxx"

// RedactURL is raw as it may be shown in messages: its user info (user:password@, or a lone
// token@) replaced by "xxxxx", whether or not raw parses as a URL, since the user's input
// is what gets quoted when it does not.
func RedactURL(raw string) string {
	// An opaque URL (user:password@host without "//") is judged as text, like one that does
	// not parse.
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		if u.User == nil {
			return raw
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return u.Redacted() // keeps the user name, which helps tell accounts apart
		}
		// A lone user name is often a token: hide it whole.
		u.User = url.User(redactedUserInfo)
		return u.String()
	}
	scheme, rest, found := strings.Cut(raw, "://")
	if !found {
		scheme, rest = "", raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	redacted := redactedUserInfo + rest[at:]
	if found {
		return scheme + "://" + redacted
	}
	return redacted
}

// LinkURL is raw as a link to print: without user info, so that no credential is copied
// into a terminal, a log or a report (a browser asks for them instead). A raw that does not
// parse is redacted as RedactURL does.
func LinkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return RedactURL(raw)
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
