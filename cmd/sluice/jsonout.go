package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sluice-dev/sluice/engine/api/text"
)

// printJSON prints v as indented JSON (see writeJSON); a value that does
// not encode is an error of the command.
func printJSON(env *cliEnv, v any) int {
	if err := writeJSON(env.stdout, v); err != nil {
		fmt.Fprintf(env.stderr, "sluice: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// writeJSON writes v as indented JSON safe for a terminal: --json output
// keeps names, errors and contents as they are, and JSON escapes control
// characters itself, but encoding/json writes C1 controls and bidi
// overrides raw; text.JSON escapes those too, in JSON's syntax, so a reader
// decodes the same values and a terminal obeys nothing.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(text.JSON(buf.Bytes()))
	return err
}
