package sensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestBatchKeyRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		topic       string
		part        int32
		first, last int64
	}{
		{"events", 0, 0, 0},
		{"a.b-c_d", 17, 1000, 1999},
		{"t", 2147483647, 9007199254740993, 9007199254740999},
	}
	for _, c := range cases {
		k := BatchKey(c.topic, c.part, c.first, c.last)
		topic, part, first, last, err := ParseBatchKey(k)
		if err != nil || topic != c.topic || part != c.part || first != c.first || last != c.last {
			t.Errorf("%q → %q %d %d %d %v", k, topic, part, first, last, err)
		}
	}
	for _, bad := range []string{"", "t", "t/1", "/1/2-3", "t/x/1-2", "t/1/2", "t/1/3-2", "t/-1/1-2", "t/1/-1-2", "t/1/a-b"} {
		if _, _, _, _, err := ParseBatchKey(bad); !errors.Is(err, ErrBatchKey) {
			t.Errorf("ParseBatchKey(%q) = %v, want ErrBatchKey", bad, err)
		}
	}
}

// Keys, values and headers come back byte for byte, whether or not they are
// UTF-8; only non-UTF-8 bytes are base64 with their flag.
func TestBatchJSONLinesRoundTrip(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 3, 4, 5, 6, 7, 8000000, time.UTC)
	b := &Batch{Topic: "t", Partition: 1, First: 10, Last: 12, Messages: []Message{
		{Topic: "t", Partition: 1, Offset: 10, Timestamp: ts, Key: []byte("k1"), Value: []byte(`{"a":"<b>"}`),
			Headers: []Header{{Key: "h", Value: []byte("v")}, {Key: "bin", Value: []byte{0xff, 0x00}}}},
		{Topic: "t", Partition: 1, Offset: 11, Timestamp: ts, Key: nil, Value: []byte{0xc3, 0x28, 0x00}},
		{Topic: "t", Partition: 1, Offset: 12, Timestamp: ts, Key: []byte{}, Value: nil},
	}}
	raw := b.JSONLines()
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), raw)
	}
	if !strings.Contains(lines[0], `"key":"k1"`) || !strings.Contains(lines[0], `"value":"{\"a\":\"<b>\"}","headers"`) ||
		!strings.Contains(lines[0], `"value":"/wA=","value_base64":true`) {
		t.Errorf("line 1: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"key":null`) || !strings.Contains(lines[1], `"value":"wygA","value_base64":true`) {
		t.Errorf("line 2: %s", lines[1])
	}
	if !strings.Contains(lines[0], `"timestamp":"2026-03-04T05:06:07.008Z"`) || !strings.Contains(lines[0], `"offset":10`) {
		t.Errorf("line 1 lacks offset or timestamp: %s", lines[0])
	}
	got, err := ReadJSONLines(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b.Messages) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, b.Messages)
	}
}

func TestReadJSONLinesErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"offset":"x"}`, `{"value":"!!","value_base64":true}`, "{\n", `{"headers":[{"key":"h","value":"%","value_base64":true}]}`} {
		if _, err := ReadJSONLines(strings.NewReader(in)); err == nil {
			t.Errorf("ReadJSONLines(%q): no error", in)
		}
	}
	msgs, err := ReadJSONLines(strings.NewReader("\n\n"))
	if err != nil || len(msgs) != 0 {
		t.Errorf("blank input: %v %v", msgs, err)
	}
}

func FuzzParseBatchKey(f *testing.F) {
	for _, s := range []string{"events/0/0-499", "a/b/1/2-3", "t/1/3-2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		topic, part, first, last, err := ParseBatchKey(s)
		if err != nil {
			return
		}
		if last < first || part < 0 || first < 0 {
			t.Fatalf("%q parsed to an impossible range", s)
		}
		// A parsed key formats back to a key that parses the same.
		t2, p2, f2, l2, err := ParseBatchKey(BatchKey(topic, part, first, last))
		if err != nil || t2 != topic || p2 != part || f2 != first || l2 != last {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}

func FuzzReadJSONLines(f *testing.F) {
	b := &Batch{Messages: []Message{{Topic: "t", Offset: 1, Key: []byte("k"), Value: []byte{0xff},
		Headers: []Header{{Key: "h", Value: []byte("v")}}}}}
	f.Add(b.JSONLines())
	f.Add([]byte(`{"key":null,"value":"x"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := ReadJSONLines(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever parses survives a write and a read unchanged.
		again, err := ReadJSONLines(bytes.NewReader((&Batch{Messages: msgs}).JSONLines()))
		if err != nil {
			t.Fatalf("re-reading: %v", err)
		}
		for i := range msgs {
			msgs[i].Timestamp, again[i].Timestamp = msgs[i].Timestamp.UTC(), again[i].Timestamp.UTC()
			if !reflect.DeepEqual(msgs[i], again[i]) {
				t.Fatalf("message %d changed:\n%#v\n%#v", i, msgs[i], again[i])
			}
		}
	})
}

// The hand-written encoder agrees with encoding/json on every string.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\s`, "\x00\x1f\n\r\t", "\u2028\u2029", "é漢🙂", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		out := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("%q encoded as %s: %q %v", s, out, back, err)
		}
		var std bytes.Buffer
		enc := json.NewEncoder(&std)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		if got, want := string(out), strings.TrimSuffix(std.String(), "\n"); got != want {
			t.Fatalf("%q: %s, encoding/json says %s", s, got, want)
		}
	})
}
