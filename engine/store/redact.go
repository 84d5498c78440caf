package store

import (
	"net/url"
	"regexp"
)

// Redact returns a store URL fit for a message: the password of a
// postgres://user:secret@host URL, a password query parameter, and a
// password=… keyword of a libpq key/value string become "xxxxx". Anything
// else is returned as is.
func Redact(raw string) string {
	// Textually rather than through url.Parse: a password holding '#' or
	// '?' unescaped is no valid URL, and must not leak either.
	raw = userinfoPassword.ReplaceAllString(raw, "${1}xxxxx@")
	if u, err := url.Parse(raw); err == nil && u.RawQuery != "" {
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
			raw = u.String()
		}
	}
	return keywordPassword.ReplaceAllString(raw, "${1}xxxxx")
}

// userinfoPassword matches scheme://user:password@ up to the last '@'. A
// host:port followed by an '@' in the query is over-redacted; that is the
// safe side.
var userinfoPassword = regexp.MustCompile(`(?s)^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:).*@`)

// keywordPassword matches password=value in a libpq keyword/value string
// (quoted or not).
var keywordPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)
