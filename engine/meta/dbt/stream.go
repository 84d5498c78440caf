package dbt

import (
	"encoding/json"
	"fmt"
)

// Streaming helpers over json.Decoder. Decoder.Decode buffers a whole value
// before unmarshalling it, so big objects (nodes, macros) are walked member by
// member with Token and each member is decoded or skipped on its own: the
// buffer never grows past the largest single member.

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("expected %q: %w", want, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v at offset %d", want, tok, dec.InputOffset())
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("expected an object key, found %v at offset %d", tok, dec.InputOffset())
	}
	return key, nil
}

// eachMember calls fn for every member of the object that comes next; fn must
// consume the member's value. A null object is accepted as empty.
func eachMember(dec *json.Decoder, what string, fn func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s: expected an object, found %v", what, tok)
	}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(key); err != nil {
			return fmt.Errorf("%s %q: %w", what, key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// skipValue consumes the next value. Objects and arrays are descended one
// level so that each member is buffered alone.
func skipValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: Token consumed it
	}
	var skip discard
	switch d {
	case '{':
		for dec.More() {
			if _, err := objectKey(dec); err != nil {
				return err
			}
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
		return expectDelim(dec, '}')
	case '[':
		for dec.More() {
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
		return expectDelim(dec, ']')
	}
	return fmt.Errorf("unexpected %q at offset %d", d, dec.InputOffset())
}

// discard is a value the decoder validates and drops without allocating.
type discard struct{}

func (*discard) UnmarshalJSON([]byte) error { return nil }
