package sensor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/IBM/sarama"
)

// sarama logs through two package globals. Left alone they print to stderr
// (the operator's terminal while the console owns it), so every entry point
// that talks to Kafka routes them to slog first.

var saramaLogMu sync.Mutex

// RouteSaramaLogs sends sarama's log output to l at debug level (sarama's
// Logger) and below (its DebugLogger, dropped unless l enables debug).
// Calling it again replaces the destination; nil discards everything.
func RouteSaramaLogs(l *slog.Logger) {
	saramaLogMu.Lock()
	defer saramaLogMu.Unlock()
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	l = l.With("component", "sarama")
	sarama.Logger = saramaSlog{l: l, level: slog.LevelDebug}
	sarama.DebugLogger = saramaSlog{l: l, level: slog.LevelDebug - 4}
}

type saramaSlog struct {
	l     *slog.Logger
	level slog.Level
}

func (s saramaSlog) emit(format func() string) {
	if !s.l.Enabled(context.Background(), s.level) {
		return
	}
	s.l.Log(context.Background(), s.level, strings.TrimRight(format(), "\n"))
}

func (s saramaSlog) Print(v ...any) { s.emit(func() string { return fmt.Sprint(v...) }) }
func (s saramaSlog) Printf(format string, v ...any) {
	s.emit(func() string { return fmt.Sprintf(format, v...) })
}
func (s saramaSlog) Println(v ...any) { s.emit(func() string { return fmt.Sprintln(v...) }) }

func init() {
	// Until an entry point routes them, sarama's logs go nowhere rather
	// than to the terminal.
	RouteSaramaLogs(nil)
}
