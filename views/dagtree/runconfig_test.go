package dagtree

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/engine/api"
)

func TestParseRunConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       string // the compact config
		wantErr    string // a prefix of the error
		isConfig   bool   // the error is api.ErrInvalidConfig
	}{
		{name: "empty is no config", text: "  \n "},
		{name: "object", text: "{\n  \"a\": 1,\n  \"b\": [true]\n}", want: `{"a":1,"b":[true]}`},
		{name: "trailing comma", text: "{\n  \"a\": 1,\n}", wantErr: "line 3, column 1: invalid character '}'"},
		{name: "missing colon", text: `{"a" 1}`, wantErr: "line 1, column 6: invalid character '1' after object key"},
		{name: "cut short", text: "{\n  \"a\": [1,", wantErr: "line 2, column 11: unexpected end of JSON input"},
		{name: "columns count characters", text: "{\"é\": ü}", wantErr: "line 1, column 7: invalid character"},
		{name: "array", text: "[1, 2]", isConfig: true},
		{name: "null", text: "null", isConfig: true},
		{name: "string", text: `"x"`, isConfig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseRunConfig(tt.text)
			switch {
			case tt.isConfig:
				if !errors.Is(err, api.ErrInvalidConfig) {
					t.Fatalf("got %v, want %v", err, api.ErrInvalidConfig)
				}
			case tt.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q…", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case string(cfg) != tt.want:
				t.Fatalf("config %q, want %q", cfg, tt.want)
			}
		})
	}
}

// Whatever is typed, the form either sends an object the engine accepts
// or says where the text breaks, inside the text.
func FuzzParseRunConfig(f *testing.F) {
	for _, s := range []string{"{}", "{\n\"a\":1,\n}", "[", "", "{\"é\": ü}", "\n\n}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := parseRunConfig(text)
		if err != nil {
			var syn *json.SyntaxError
			if json.Unmarshal([]byte(text), new(any)) == nil || !errors.As(json.Unmarshal([]byte(text), new(any)), &syn) {
				return
			}
			line, col := position(text, errorOffset(text, syn))
			lines := strings.Split(text, "\n")
			if line < 1 || line > len(lines) || col < 1 || col > utf8.RuneCountInString(lines[line-1])+1 {
				t.Fatalf("line %d, column %d is outside %q", line, col, text)
			}
			return
		}
		if cfg != nil && api.CheckRunConfig(cfg) != nil {
			t.Fatalf("accepted %q, which the engine refuses", cfg)
		}
	})
}
