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
	"github.com/sluice-dev/sluice/engine/lifecycle"
)

// Path is where the server answers scrapes.
const Path = "/metrics"

// Server is a Metrics behind its own HTTP listener (--metrics ADDR), on
// the shared lifecycle: NewServer, then Start binds and serves, Stop (or
// the end of Start's context) closes the listener and stops following the
// engine.
type Server struct {
	addr string
	api  api.API
	log  *slog.Logger
	life lifecycle.Lifecycle

	ln net.Listener // set by Start
	m  *Metrics     // set by Start
}

// NewServer returns a server for addr (host:port; port 0 picks one) that
// follows api once started. It binds nothing yet.
func NewServer(addr string, api api.API, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{addr: addr, api: api, log: log}
}

// Start binds the address, starts following the engine and serves GET
// /metrics until ctx ends or Stop. A bind failure is returned at once, so
// a typo in --metrics stops the command at start.
func (s *Server) Start(ctx context.Context) error { return s.life.Start(ctx, s.start) }

func (s *Server) start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("metrics listener on %q: %w", s.addr, err)
	}
	m := New(s.api, Options{Logger: s.log})
	if err := m.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "sluice metrics: %s\n", Path)
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// Stop cancels ctx before the shutdown; scrapes in flight keep
		// its values but not its end, so they finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.ln, s.m = ln, m
	s.life.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	})
	// Stop and the end of ctx both end here: scrapes in flight get five
	// seconds, then the engine is no longer followed.
	s.life.Go(func() {
		<-ctx.Done()
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutCtx); err != nil {
			srv.Close()
		}
		m.Stop()
	})
	s.log.Info("serving metrics", "addr", ln.Addr().String(), "path", Path)
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Metrics returns the server's metrics, once started.
func (s *Server) Metrics() *Metrics { return s.m }

// Stop closes the listener, finishes scrapes in flight (for up to five
// seconds) and stops following the engine. It is safe to call twice, and
// on a server never started.
func (s *Server) Stop() { s.life.Stop(nil) }

// Serve starts a Server for a command's --metrics flag: an empty addr serves
// nothing. Call stop before the engine stops.
//
//	stop, err := metrics.Serve(ctx, *metricsAddr, eng, log)
//	if err != nil { ... }
//	defer stop()
func Serve(ctx context.Context, addr string, api api.API, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	s := NewServer(addr, api, log)
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s.Stop, nil
}
