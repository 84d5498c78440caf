package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/engine/loader"
	"github.com/sluice-dev/sluice/tui"
	"github.com/sluice-dev/sluice/views/styles"
)

// TestConsoleEscapesHostileDAGFiles runs the real engine over a folder of
// hostile files and the console over the engine: what the console renders
// holds the escapes, never the raw characters. With the colour profile
// pinned to ASCII the views emit no escape of their own, so any ESC in a
// frame came from a file.
func TestConsoleEscapesHostileDAGFiles(t *testing.T) {
	lipgloss.SetColorProfile(termenv.Ascii)
	dir := t.TempDir()
	dagsWrite(t, dir, "cls"+escClear+".json", dagsGoodJSON)
	dagsWrite(t, dir, "nl\nx.json", dagsGoodJSON)
	dagsWrite(t, dir, "title.json", `{"nodes": [{"id": "a\u001b]0;pwned\u0007", "type": "local", "config": {"command": "true"}, "depends_on": ["\u202eghost"]}]}`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng, err := engine.Open(ctx, engine.Options{Config: engine.Config{StateDir: t.TempDir(),
		Loader: loader.Config{Dir: dir, Enabled: true, ScanInterval: time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()

	model := tui.New(ctx, eng, tui.Options{Styles: styles.New(nil)})
	defer model.Close()
	tm := teatest.NewTestModel(t, model, teatest.WithInitialTermSize(160, 40))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte(`cls\x1b[2J`)) && bytes.Contains(b, []byte(`nl\nx`))
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).View()
	if strings.ContainsAny(view, "\x1b\x07"+bidi) {
		t.Errorf("the console renders raw control characters:\n%q", view)
	}
	if !strings.Contains(view, `cls\x1b[2J`) {
		t.Errorf("the console does not show the escaped name:\n%s", view)
	}
}
