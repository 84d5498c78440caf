package sensor

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EnvBatchFile names the environment variable through which a task of a
// sensor run finds its batch (a JSON-lines file, one message per line).
const EnvBatchFile = "SLUICE_BATCH_FILE"

// Message is one Kafka record of a batch.
type Message struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	Key       []byte // nil when the record has no key
	Value     []byte
	Headers   []Header
}

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Batch is a contiguous run of one partition's records: the unit a sensor
// run carries. Its identity is Key(); offsets First..Last may have holes
// (compaction, transaction markers) but no record outside the range.
type Batch struct {
	Topic     string
	Partition int32
	First     int64
	Last      int64
	Messages  []Message
}

// Key is the batch identity the store keeps unique: "topic/partition/first-last".
// Kafka topic names cannot contain '/', so the key splits back unambiguously.
func (b *Batch) Key() string { return BatchKey(b.Topic, b.Partition, b.First, b.Last) }

// BatchKey formats a batch identity.
func BatchKey(topic string, partition int32, first, last int64) string {
	return topic + "/" + strconv.FormatInt(int64(partition), 10) + "/" +
		strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10)
}

// ErrBatchKey reports a string that is not a batch key.
var ErrBatchKey = errors.New("malformed batch key")

// ParseBatchKey splits "topic/partition/first-last".
func ParseBatchKey(s string) (topic string, partition int32, first, last int64, err error) {
	i := strings.LastIndexByte(s, '/')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(s[:i], '/')
	}
	if j <= 0 {
		return "", 0, 0, 0, fmt.Errorf("%w: %q", ErrBatchKey, s)
	}
	topic = s[:j]
	p, perr := strconv.ParseInt(s[j+1:i], 10, 32)
	a, b, ok := strings.Cut(s[i+1:], "-")
	if perr != nil || p < 0 || !ok {
		return "", 0, 0, 0, fmt.Errorf("%w: %q", ErrBatchKey, s)
	}
	f, ferr := strconv.ParseInt(a, 10, 64)
	l, lerr := strconv.ParseInt(b, 10, 64)
	if ferr != nil || lerr != nil || f < 0 || l < f {
		return "", 0, 0, 0, fmt.Errorf("%w: %q", ErrBatchKey, s)
	}
	return topic, int32(p), f, l, nil
}

// jsonMessage is the line format of a batch file. Bytes that are valid
// UTF-8 are written as strings; anything else is base64 with its flag set,
// so a task can always recover the exact bytes.
type jsonMessage struct {
	Topic       string       `json:"topic"`
	Partition   int32        `json:"partition"`
	Offset      int64        `json:"offset"`
	Timestamp   time.Time    `json:"timestamp"`
	Key         *string      `json:"key"`
	KeyBase64   bool         `json:"key_base64,omitempty"`
	Value       *string      `json:"value"`
	ValueBase64 bool         `json:"value_base64,omitempty"`
	Headers     []jsonHeader `json:"headers,omitempty"`
}

type jsonHeader struct {
	Key         string  `json:"key"`
	Value       *string `json:"value"`
	ValueBase64 bool    `json:"value_base64,omitempty"`
}

func decodeBytes(s *string, b64 bool) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	if b64 {
		return base64.StdEncoding.DecodeString(*s)
	}
	return []byte(*s), nil
}

// JSONLines renders the batch as the file a task reads: one JSON object per
// message, newline-terminated, fields in jsonMessage's order. Written by
// hand rather than through encoding/json: it runs for every record the
// sensor ingests, and reflection was most of its cost.
func (b *Batch) JSONLines() []byte {
	size := 0
	for i := range b.Messages {
		m := &b.Messages[i]
		size += 160 + len(m.Topic) + 2*(len(m.Key)+len(m.Value))
	}
	buf := make([]byte, 0, size)
	for i := range b.Messages {
		buf = appendJSONMessage(buf, &b.Messages[i])
	}
	return buf
}

func appendJSONMessage(buf []byte, m *Message) []byte {
	buf = append(buf, `{"topic":`...)
	buf = appendJSONString(buf, m.Topic)
	buf = append(buf, `,"partition":`...)
	buf = strconv.AppendInt(buf, int64(m.Partition), 10)
	buf = append(buf, `,"offset":`...)
	buf = strconv.AppendInt(buf, m.Offset, 10)
	buf = append(buf, `,"timestamp":"`...)
	buf = m.Timestamp.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, `","key":`...)
	buf = appendJSONBytes(buf, m.Key, `,"key_base64":true`)
	buf = append(buf, `,"value":`...)
	buf = appendJSONBytes(buf, m.Value, `,"value_base64":true`)
	if len(m.Headers) > 0 {
		buf = append(buf, `,"headers":[`...)
		for i, h := range m.Headers {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"key":`...)
			buf = appendJSONString(buf, h.Key)
			buf = append(buf, `,"value":`...)
			buf = appendJSONBytes(buf, h.Value, `,"value_base64":true`)
			buf = append(buf, '}')
		}
		buf = append(buf, ']')
	}
	return append(buf, "}\n"...)
}

// appendJSONBytes writes b as a JSON string when it is UTF-8, else as
// base64 followed by flag; nil is null.
func appendJSONBytes(buf, b []byte, flag string) []byte {
	if b == nil {
		return append(buf, "null"...)
	}
	if utf8.Valid(b) {
		return appendJSONString(buf, string(b))
	}
	buf = append(buf, '"')
	buf = base64.StdEncoding.AppendEncode(buf, b)
	buf = append(buf, '"')
	return append(buf, flag...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes valid UTF-8 the way encoding/json does with HTML
// escaping off: quote, backslash and control characters escaped, U+2028
// and U+2029 too (JavaScript reads them as line ends).
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// ReadJSONLines parses a batch file back into messages; tasks written in Go
// and the tests use it. Blank lines are skipped.
func ReadJSONLines(r io.Reader) ([]Message, error) {
	var out []Message
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var jm jsonMessage
		if err := json.Unmarshal(raw, &jm); err != nil {
			return nil, fmt.Errorf("batch line %d: %w", line, err)
		}
		m := Message{Topic: jm.Topic, Partition: jm.Partition, Offset: jm.Offset, Timestamp: jm.Timestamp}
		var err error
		if m.Key, err = decodeBytes(jm.Key, jm.KeyBase64); err != nil {
			return nil, fmt.Errorf("batch line %d: key: %w", line, err)
		}
		if m.Value, err = decodeBytes(jm.Value, jm.ValueBase64); err != nil {
			return nil, fmt.Errorf("batch line %d: value: %w", line, err)
		}
		for _, jh := range jm.Headers {
			v, err := decodeBytes(jh.Value, jh.ValueBase64)
			if err != nil {
				return nil, fmt.Errorf("batch line %d: header %q: %w", line, jh.Key, err)
			}
			m.Headers = append(m.Headers, Header{Key: jh.Key, Value: v})
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading batch: %w", err)
	}
	return out, nil
}
