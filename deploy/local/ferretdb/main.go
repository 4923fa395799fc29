// Command ferretdb-embedded runs FerretDB 1.24 with its SQLite backend for the local stack.
//
// `go install .../cmd/ferretdb` panics at start because that command expects a generated
// version file; embedding the public ferretdb package avoids it. Telemetry is disabled by the
// package itself. The process listens on loopback only and stops cleanly on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (loopback only)")
	dataDir := flag.String("data-dir", "data", "directory holding the SQLite databases")
	metricsListen := flag.String("metrics-listen", "", "address for Prometheus /metrics (empty: off)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	synchronous := flag.String("synchronous", "normal",
		"SQLite's synchronous setting: normal (a commit survives the process crashing) or full (also the machine)")
	// Go's collector is a large share of this process's CPU under load: FerretDB allocates for every
	// document it decodes and tracks each iterator and transaction with a finalizer. A pprof profile of
	// the publish benchmark at 100,000 listings (README, "Twelfth session") spent 10% of the store's CPU
	// marking at Go's default GOGC=100; at 1000, with a soft memory limit so a large working set makes
	// the collector work harder instead of growing without bound, the store's CPU per create + publish
	// fell by about a quarter.
	gcPercent := flag.Int("gc-percent", 1000, "Go's GOGC for this process (100 is Go's default)")
	memoryLimitMiB := flag.Int64("memory-limit-mib", 2048, "Go's soft memory limit (GOMEMLIMIT) in MiB")
	busyWait := flag.String("busy-wait", "poll",
		"how a writer waits for SQLite's write lock: poll (every 20-200 us, busywait.go) or sqlite (its own sleeps)")
	flag.Parse()
	debug.SetGCPercent(*gcPercent)
	debug.SetMemoryLimit(*memoryLimitMiB << 20)

	if *synchronous != "normal" && *synchronous != "full" {
		fmt.Fprintf(os.Stderr, "bad -synchronous: %q (normal or full)\n", *synchronous)
		os.Exit(2)
	}

	switch *busyWait {
	case "poll":
		usePollForLock()
	case "sqlite":
		// SQLite's own handler, from the busy_timeout(10000) FerretDB sets on every connection.
	default:
		fmt.Fprintf(os.Stderr, "bad -busy-wait: %q (poll or sqlite)\n", *busyWait)
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		logger.Error("bad data dir", "err", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		logger.Error("cannot create data dir", "err", err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  "sqlite",
		// FerretDB keeps SQLite in WAL mode. With synchronous=full every commit waits for an fsync of the
		// WAL; on the ext4 disks of the machines this runs on, those waits stalled every write for
		// 150-750 ms several times a minute under steady load (tests/benchmarks/checkin.py, README
		// "Store durability"). With normal a commit is on its way to the disk when acknowledged: a crash
		// of this process loses nothing, a crash of the machine may lose the last moments of commits -
		// what MongoDB's own default (w:1, journal flushed every 100 ms) promises too.
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(" + *synchronous + ")",
	})
	if err != nil {
		logger.Error("cannot start", "err", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *metricsListen != "" {
		// Go runtime and process metrics, so the local Prometheus sees the store's memory and CPU.
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.Handler())
		// Go's profiler on the same loopback listener: where the store spends its CPU is the first
		// question of every speed issue here (`go tool pprof http://<metrics address>/debug/pprof/profile`).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		go func() {
			if err := http.ListenAndServe(*metricsListen, mux); err != nil {
				logger.Error("metrics listener stopped", "err", err)
			}
		}()
	}

	go keepIDLookupIndexed(ctx, abs, logger)

	logger.Warn("ferretdb listening", "addr", *listen, "data", abs)
	if err := f.Run(ctx); err != nil {
		logger.Error("stopped with error", "err", err)
		os.Exit(1)
	}
}
