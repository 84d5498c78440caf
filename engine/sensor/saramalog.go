package sensor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// sarama logs through two package globals. Left alone they print to stderr
// (the operator's terminal while the console owns it). They are pointed
// once, at init, at a forwarder whose destination RouteSaramaLogs swaps
// atomically: sarama reads the globals from its own goroutines, so they
// are never written again.

var saramaDest atomic.Pointer[slog.Logger]

// RouteSaramaLogs sends sarama's log output to l: its Logger at debug level,
// its DebugLogger four levels below (dropped unless l enables that). nil
// discards everything, which is the state before the first call.
func RouteSaramaLogs(l *slog.Logger) {
	if l == nil {
		saramaDest.Store(nil)
		return
	}
	saramaDest.Store(l.With("component", "sarama"))
}

type saramaSlog struct{ level slog.Level }

func (s saramaSlog) emit(format func() string) {
	l := saramaDest.Load()
	if l == nil || !l.Enabled(context.Background(), s.level) {
		return
	}
	l.Log(context.Background(), s.level, strings.TrimRight(format(), "\n"))
}

func (s saramaSlog) Print(v ...any) { s.emit(func() string { return fmt.Sprint(v...) }) }
func (s saramaSlog) Printf(format string, v ...any) {
	s.emit(func() string { return fmt.Sprintf(format, v...) })
}
func (s saramaSlog) Println(v ...any) { s.emit(func() string { return fmt.Sprintln(v...) }) }

func init() {
	sarama.Logger = saramaSlog{level: slog.LevelDebug}
	sarama.DebugLogger = saramaSlog{level: slog.LevelDebug - 4}
}
