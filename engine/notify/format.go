package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Message is what one request carries: an event, and the earlier events
// of its subject folded into it when they came faster than the window.
//
// The generic body is Message as JSON:
//
//	{
//	  "id": "…",            the event's id (the newest, when grouped)
//	  "type": "dag.invalid", "subject": "dag/etl", "at": "RFC 3339",
//	  "text": "one line for humans",
//	  "data": {…},          the facts of the type (see Details)
//	  "folded": 2,          events folded into this one (0: none)
//	  "events": [           every event of the group, oldest first,
//	    {"id": …, "type": …, "at": …, "text": …}   present when folded > 0
//	  ]
//	}
//
// with the header X-Sluice-Signature: sha256=HEX, the HMAC-SHA256 of the
// body under the shared secret (when one is set), X-Sluice-Event (the
// type) and X-Sluice-Id (the id).
type Message struct {
	Event
	Folded int       `json:"folded"`
	Events []Summary `json:"events,omitempty"`
}

// Summary is an event of a group, briefly.
type Summary struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	At   string `json:"at"`
	Text string `json:"text"`
}

// SignatureHeader carries the body's HMAC-SHA256.
const SignatureHeader = "X-Sluice-Signature"

// Sign is the value of SignatureHeader for body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// group folds events (one subject, oldest first) into one message: the
// newest, counting the others.
func group(evs []Event) Message {
	m := Message{Event: evs[len(evs)-1], Folded: len(evs) - 1}
	if m.Folded > 0 {
		for _, ev := range evs {
			m.Events = append(m.Events, Summary{ID: ev.ID, Type: ev.Type, At: ev.At.UTC().Format("2006-01-02T15:04:05Z07:00"), Text: ev.Text})
		}
		m.Text = fmt.Sprintf("%s (%d earlier events folded)", m.Text, m.Folded)
	}
	return m
}

// body renders m for a target of kind.
func body(kind string, m Message) ([]byte, error) {
	if kind == KindSlack {
		return json.Marshal(slackMessage(m))
	}
	return json.Marshal(m)
}

// slack is the incoming-webhook payload: text is the notification's
// fallback, blocks what Slack shows.
type slack struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

var slackTitles = map[string]string{
	DAGInvalid: ":x: DAG invalid", DAGRecovered: ":white_check_mark: DAG valid again", DAGDisabled: ":pause_button: DAG disabled",
	RunFailed: ":red_circle: Run failed", RunRecovered: ":large_green_circle: Run recovered", SensorStatus: ":satellite: Sensor lag status",
	ReviewStaged: ":eyes: Review staged", ReviewBlocked: ":no_entry: Review blocked", ReviewPRMerged: ":tada: Pull request merged",
	MetaSummary: ":bar_chart: Metapipeline summary",
}

func slackMessage(m Message) slack {
	title := slackTitles[m.Type]
	if title == "" {
		title = m.Type
	}
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{Type: "plain_text", Text: title}},
		{Type: "section", Text: &slackText{Type: "mrkdwn", Text: slackEscape(m.Text)}},
	}
	var lines []string
	for _, e := range m.Data.Errors {
		where := strings.TrimSpace(e.Node + " " + e.Path)
		if where != "" {
			where += ": "
		}
		lines = append(lines, "• "+slackEscape(where+e.Msg))
	}
	if m.Data.URL != "" {
		lines = append(lines, "<"+m.Data.URL+"|pull request>")
	}
	if len(lines) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: strings.Join(lines, "\n")}})
	}
	if len(m.Data.ModelsPerDay) > 0 {
		blocks = append(blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn",
			Text: "*Models run per day*\n```\n" + ModelsChart(m.Data) + "```"}})
	}
	ctx := "sluice · " + m.Subject + " · id " + m.ID
	if m.Folded > 0 {
		ctx += fmt.Sprintf(" · %d earlier events folded", m.Folded)
	}
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: slackEscape(ctx)}}})
	return slack{Text: title + ": " + m.Text, Blocks: blocks}
}

// ModelsChart draws the models run per day as a small text chart, one
// line a day: "2024-05-01 ██████████▌ 42".
func ModelsChart(d Details) string {
	const width = 20
	most := 0
	for _, c := range d.ModelsPerDay {
		most = max(most, c.Count)
	}
	var b strings.Builder
	for _, c := range d.ModelsPerDay {
		bar := 0
		if most > 0 {
			bar = (c.Count*width*2 + most/2) / most // half blocks
		}
		fmt.Fprintf(&b, "%s %-*s %d\n", c.Day, width, strings.Repeat("█", bar/2)+strings.Repeat("▌", bar%2), c.Count)
	}
	return b.String()
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
