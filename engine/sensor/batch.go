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

func encodeBytes(b []byte) (*string, bool) {
	if b == nil {
		return nil, false
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, false
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, true
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
// message, newline-terminated.
func (b *Batch) JSONLines() []byte {
	var buf bytes.Buffer
	buf.Grow(len(b.Messages) * 128)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range b.Messages {
		m := &b.Messages[i]
		jm := jsonMessage{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp.UTC()}
		jm.Key, jm.KeyBase64 = encodeBytes(m.Key)
		jm.Value, jm.ValueBase64 = encodeBytes(m.Value)
		for _, h := range m.Headers {
			jh := jsonHeader{Key: h.Key}
			jh.Value, jh.ValueBase64 = encodeBytes(h.Value)
			jm.Headers = append(jm.Headers, jh)
		}
		// Encode cannot fail: every field is a plain value.
		_ = enc.Encode(&jm)
	}
	return buf.Bytes()
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
