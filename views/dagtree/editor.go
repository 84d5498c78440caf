package dagtree

import (
	"fmt"
	"os"
	"os/exec"

	tea "github.com/charmbracelet/bubbletea"
)

// EditorClosedMsg carries the run config as the operator's editor left
// it, or why it could not be read back.
type EditorClosedMsg struct {
	DAG  string
	Text string
	Err  error
}

// editRunConfig hands the trigger form's text to the operator's editor
// (common.Common.Editor, a shell command line such as "vim" or "code -w")
// in a temporary file, and reads the file back when the editor exits.
// The console gives up the terminal meanwhile.
func (m *Model) editRunConfig() tea.Cmd {
	f := m.triggerForm
	file, err := os.CreateTemp("", "sluice-run-config-*.json")
	if err != nil {
		f.err = fmt.Sprintf("opening the editor: %v", err)
		return nil
	}
	path, dag := file.Name(), f.dag
	_, werr := file.WriteString(f.area.Value())
	if cerr := file.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		f.err = fmt.Sprintf("opening the editor: %v", werr)
		return nil
	}
	// Through sh so the editor may carry arguments, as $EDITOR does; the
	// path is an argument, never part of the command line.
	cmd := exec.Command("sh", "-c", m.c.Editor+` "$1"`, "sh", path)
	return tea.ExecProcess(cmd, func(err error) tea.Msg {
		defer os.Remove(path)
		if err != nil {
			return EditorClosedMsg{DAG: dag, Err: fmt.Errorf("the editor failed: %w", err)}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return EditorClosedMsg{DAG: dag, Err: fmt.Errorf("reading the edited run config: %w", err)}
		}
		return EditorClosedMsg{DAG: dag, Text: string(data)}
	})
}

func (m *Model) editorClosed(msg EditorClosedMsg) {
	f := m.triggerForm
	if f == nil || f.dag != msg.DAG {
		return
	}
	if msg.Err != nil {
		f.err = msg.Err.Error()
		return
	}
	f.area.SetValue(msg.Text)
	// What came back is checked now: the operator sees at once where it
	// breaks, as after ctrl+s.
	f.err = ""
	if _, err := parseRunConfig(msg.Text); err != nil {
		f.err = err.Error()
	}
}
