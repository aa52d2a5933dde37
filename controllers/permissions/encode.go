package permissions

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// The document encoder writes the bytes encoding/json writes for an AccessDocument,
// piece by piece, so that per-platform pieces (a permission set's array, an Active
// user's entry) are encoded once and copied into every document that uses them.

// quote appends s as a JSON string, as encoding/json writes it.
func quote(buf []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			// Rare (the API admits lowercase ASCII names only): let encoding/json
			// decide the escapes, so the bytes stay identical to it.
			b, _ := json.Marshal(s)
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// encodeStrings appends a JSON array of strings; an empty or nil list as [].
func encodeStrings(buf []byte, ss []string) []byte {
	buf = append(buf, '[')
	for k, s := range ss {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = quote(buf, s)
	}
	return append(buf, ']')
}

// encodeUser appends a DocumentUser, omitting empty fields as its omitempty tags say.
func encodeUser(buf []byte, u v1alpha1.DocumentUser) []byte {
	buf = append(buf, `{"status":`...)
	buf = quote(buf, string(u.Status))
	if len(u.Roles) > 0 {
		buf = append(buf, `,"roles":`...)
		buf = encodeStrings(buf, u.Roles)
	}
	if u.PermissionSet != "" {
		buf = append(buf, `,"permissionSet":`...)
		buf = quote(buf, u.PermissionSet)
	}
	if len(u.Features) > 0 {
		buf = append(buf, `,"features":`...)
		buf = encodeStrings(buf, u.Features)
	}
	if u.ValidUntil != nil {
		return appendValidUntil(buf, *u.ValidUntil)
	}
	return append(buf, '}')
}

// appendValidUntil ends a DocumentUser's JSON with its validUntil, as encoding/json
// writes a time.Time (RFC 3339 with the fraction it has).
func appendValidUntil(buf []byte, t time.Time) []byte {
	buf = append(buf, `,"validUntil":"`...)
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, `"}`...)
}

func appendInt(buf []byte, n int) []byte { return strconv.AppendInt(buf, int64(n), 10) }
