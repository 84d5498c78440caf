package dagtree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/engine/api"
)

// parseRunConfig reads the run config an operator typed: nothing (no
// config), or a JSON object (api.CheckRunConfig, the engine's own rule).
// A syntax error says where it is, "line 3, column 5: …", counted as an
// editor counts: lines and columns from 1, columns in characters.
func parseRunConfig(text string) (json.RawMessage, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(text, errorOffset(text, syn))
			return nil, fmt.Errorf("line %d, column %d: %s", line, col, syn.Error())
		}
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(text)); err != nil {
		return nil, err
	}
	cfg := json.RawMessage(out.Bytes())
	if err := api.CheckRunConfig(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// errorOffset is the byte the syntax error is at. The decoder's Offset
// counts the bytes read, the offending one included; at the end of the
// input there is no offending byte and the error is just past the text.
func errorOffset(text string, syn *json.SyntaxError) int {
	off := int(syn.Offset)
	if off >= len(text) && strings.Contains(syn.Error(), "end of JSON input") {
		return len(text)
	}
	return min(max(off-1, 0), len(text))
}

// position is the line and column (from 1, in characters) of byte off.
func position(text string, off int) (line, col int) {
	before := text[:off]
	line = strings.Count(before, "\n") + 1
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// lastRunConfig is the run config of the DAG's newest run that carried
// one, indented for editing; "{}" when none did.
func lastRunConfig(snap *api.Snapshot, dag string) (string, int64) {
	var newest *api.Run
	for _, runs := range [][]api.Run{snap.Runs.Queued, snap.Runs.Running, snap.Runs.Finished} {
		for i := range runs {
			r := &runs[i]
			if r.DAG != dag || len(bytes.TrimSpace(r.Config)) == 0 || string(r.Config) == "null" {
				continue
			}
			if newest == nil || r.ID > newest.ID {
				newest = r
			}
		}
	}
	if newest == nil {
		return "{}", 0
	}
	var out bytes.Buffer
	if err := json.Indent(&out, newest.Config, "", "  "); err != nil {
		return string(newest.Config), newest.ID
	}
	return out.String(), newest.ID
}
