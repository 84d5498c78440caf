package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sluice-dev/sluice/engine/api"
)

// Path is where the server answers scrapes.
const Path = "/metrics"

// Server is a Metrics behind its own HTTP listener (--metrics ADDR).
type Server struct {
	m    *Metrics
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	log  *slog.Logger
}

// Listen binds addr (host:port; port 0 picks one), starts following api
// and serves GET /metrics until ctx ends or Stop. A bind failure is
// returned at once, so a typo in --metrics stops the command at start.
func Listen(ctx context.Context, addr string, api api.API, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener on %q: %w", addr, err)
	}
	m := New(api, Options{Logger: log})
	if err := m.Start(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "sluice metrics: %s\n", Path)
	})
	s := &Server{
		m:  m,
		ln: ln,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		},
		done: make(chan struct{}),
		log:  log,
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", Path)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.m }

// Stop closes the listener, finishes scrapes in flight (for up to five
// seconds) and stops following the engine. It is safe to call twice.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
	s.m.Stop()
}

// Serve is Listen for a command's --metrics flag: an empty addr serves
// nothing. Call stop before the engine stops.
//
//	stop, err := metrics.Serve(ctx, *metricsAddr, eng, log)
//	if err != nil { ... }
//	defer stop()
func Serve(ctx context.Context, addr string, api api.API, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	s, err := Listen(ctx, addr, api, log)
	if err != nil {
		return nil, err
	}
	return s.Stop, nil
}
