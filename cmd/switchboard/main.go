// Command switchboard runs the Switchboard contact center.
//
//	switchboard serve   [flags]   run with the configured organisation
//	switchboard demo    [flags]   run with the demo organisation (created on first start) and simulated traffic
//	switchboard simulate --target HOST:PORT [flags]   simulated traffic against any Switchboard
//	switchboard version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/demo"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

const usage = `usage: switchboard <command> [flags]

commands:
  serve     run Switchboard
  demo      run Switchboard with the demo organisation (seeded on first start)
            and simulated traffic (--simulate=false: none)
  simulate  simulated callers and agents against any Switchboard (--load: measure)
  version   print the version

Run "switchboard <command> -h" for the flags.`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "switchboard", app.Version)
		return nil
	case "serve":
		return serve(args[1:], stdout, stderr, false)
	case "demo":
		return serve(args[1:], stdout, stderr, true)
	case "simulate":
		return simulateCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func serve(args []string, stdout, stderr io.Writer, isDemo bool) error {
	name := "serve"
	if isDemo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := config.RegisterFlags(fs)
	carrier := ""
	simulated := false
	if isDemo {
		fs.StringVar(&carrier, "carrier-addr", "127.0.0.1:5090", "host:port of the demo-carrier trunk's far end (outbound calls go there)")
		fs.BoolVar(&simulated, "simulate", demoSimulateDefault(), "simulated callers and agents (default on unless "+demoSimulateEnv+"=false)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath, os.Environ(), fs)
	if err != nil {
		return err
	}
	if isDemo && cfg.SIP.Addr == config.Default().SIP.Addr {
		// The demo trunk trusts 127.0.0.1: keep the demo on loopback unless
		// the user chose an address.
		cfg.SIP.Addr = "127.0.0.1:5060"
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("log_level %q: %w", cfg.LogLevel, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := app.OpenStore(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if isDemo {
		empty, err := st.IsEmpty(ctx)
		if err != nil {
			return err
		}
		if empty {
			if err := demo.Seed(ctx, st, demo.Options{Realm: cfg.SIP.Realm, CarrierAddr: carrier}); err != nil {
				return fmt.Errorf("seed demo organisation: %w", err)
			}
			log.Info("demo organisation created", "data_dir", cfg.DataDir)
		}
	}
	a, err := app.Start(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	simDone := make(chan struct{})
	if isDemo && simulated {
		go func() {
			defer close(simDone)
			runSimulation(ctx, demo.Simulation(a.SIPAddr(), a.HTTPAddr()), log)
		}()
	} else {
		close(simDone)
	}
	if isDemo {
		printDemo(stdout, a, simulated)
	}
	<-ctx.Done()
	<-simDone // the simulated calls hang up before the server stops
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a.Shutdown(sctx)
	return nil
}

func printDemo(w io.Writer, a *app.App, simulated bool) {
	fmt.Fprintf(w, `
Switchboard demo is running.

  SIP      %[1]s (UDP and TCP)
  Console  http://%[2]s/  (and the API; admin / demo-admin)

Point a softphone at it:
  server/domain  %[1]s
  username       1001 … 1010   (1009 receptionist, 1010 supervisor)
  password       demo-<ext>    e.g. demo-1001

Then call 1002 from 1001, or 8000 (Support: 1001–1005) / 8001 (Sales: 1006–1008).
Calls from the demo carrier (127.0.0.1) to +31201230001 reach Support,
+31201230002 Sales, +3120123100X extension 100X.

No softphone? The browser is the phone: open http://%[2]s/, log in as
1001 / demo-1001, press Available, and call +31201230001 from any SIP
phone — or let the simulator call.

Press Ctrl-C to stop.
`, a.SIPAddr(), a.HTTPAddr())
	if simulated {
		fmt.Fprintf(w, `
Simulated traffic is on (--simulate=false turns it off): customers call
Support and Sales through the demo carrier (about 4 and 2 calls a minute)
and agents %s answer them, miss a few, post
wrap-up codes and take breaks; both queues were set to longest idle with
10 s of wrap-up. 1001, 1009 and 1010 are yours: log in as 1001 and set
yourself available to take Support calls too.
`, strings.Join(demo.SimulatedAgents, ", "))
	}
}
